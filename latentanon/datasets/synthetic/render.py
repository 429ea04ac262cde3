"""Rasteriser of the synthetic world: soft-edged capsules, discs and convex polygons drawn with numpy.

Every primitive is a signed distance field evaluated only inside its bounding box and alpha-blended onto a float32
RGB canvas (H, W, 3) in [0, 255] with a one-pixel anti-aliased edge, so a 112x112 frame with one actor renders in
about a millisecond. Geometry comes from :mod:`latentanon.datasets.synthetic.world`: an actor's pose is turned
into screen points by :func:`skeleton`, drawn by :func:`draw_actor`; :func:`render_scene` composes the background,
the actors and the camera (pixel noise, brightness flicker, small jitter) into uint8 frames (T, H, W, 3).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from latentanon.datasets.synthetic.world import (
    DOF,
    Actor,
    Scene,
)

# body proportions in units of the actor's height (the head top is at about 1.0 when standing)
THIGH, SHIN, TORSO, NECK = 0.245, 0.235, 0.29, 0.03
UPPER_ARM, FOREARM = 0.165, 0.15
HEAD_R = 0.105
ARM_R, LEG_R, HAND_R, FOOT_R = 0.034, 0.044, 0.042, 0.036
TORSO_DEPTH = 0.075  # half-depth of the chest seen in profile

# ----------------------------------------------------------------------------------------------- primitives


_GRID = np.arange(4096, dtype=np.float32)  # pixel-centre coordinates, sliced (no allocation per primitive)


def _box(canvas: np.ndarray, x0: float, x1: float, y0: float, y1: float):
    """Integer bounding box clipped to the canvas and the coordinate grids inside it (or None if empty)."""
    h, w = canvas.shape[:2]
    xa, xb = max(0, int(math.floor(x0))), min(w, int(math.ceil(x1)) + 1)
    ya, yb = max(0, int(math.floor(y0))), min(h, int(math.ceil(y1)) + 1)
    if xa >= xb or ya >= yb:
        return None
    return (slice(ya, yb), slice(xa, xb)), _GRID[None, xa:xb], _GRID[ya:yb, None]


def _blend(canvas: np.ndarray, region, dist: np.ndarray, color) -> None:
    """Alpha-blend ``color`` where the signed distance ``dist`` (pixels, < 0 inside) covers the pixel.

    ``dist`` is consumed (overwritten by the coverage).
    """
    alpha = np.subtract(0.5, dist, out=dist)
    np.minimum(alpha, 1.0, out=alpha)
    np.maximum(alpha, 0.0, out=alpha)
    patch = canvas[region]  # (h, w, 3) view
    patch += alpha[..., None] * (np.asarray(color, np.float32) - patch)


def capsule(canvas: np.ndarray, p0, p1, radius: float, color) -> None:
    """A thick segment from ``p0`` to ``p1`` (canvas x, y in pixels) with round caps."""
    x0, y0 = float(p0[0]), float(p0[1])
    x1, y1 = float(p1[0]), float(p1[1])
    r = radius + 1.0
    box = _box(canvas, min(x0, x1) - r, max(x0, x1) + r, min(y0, y1) - r, max(y0, y1) + r)
    if box is None:
        return
    region, xs, ys = box
    dx, dy = x1 - x0, y1 - y0
    px, py = xs - x0, ys - y0  # (1, w), (h, 1)
    length2 = dx * dx + dy * dy
    if length2 > 1e-9:
        h = px * (dx / length2) + py * (dy / length2)  # (h, w) projection on the segment
        np.minimum(h, 1.0, out=h)
        np.maximum(h, 0.0, out=h)
        dist = np.hypot(px - h * dx, py - h * dy)
    else:
        dist = np.hypot(px, py)
    dist -= radius
    _blend(canvas, region, dist, color)


def disc(canvas: np.ndarray, center, radius: float, color, cut=None) -> None:
    """A disc, optionally intersected with the half-plane ``n . (p - center) <= offset``, ``cut = (nx, ny, offset)``."""
    cx, cy = float(center[0]), float(center[1])
    r = radius + 1.0
    box = _box(canvas, cx - r, cx + r, cy - r, cy + r)
    if box is None:
        return
    region, xs, ys = box
    px, py = xs - cx, ys - cy
    dist = np.hypot(px, py)
    dist -= radius
    if cut is not None:
        nx, ny, offset = cut
        np.maximum(dist, px * nx + (py * ny - offset), out=dist)
    _blend(canvas, region, dist, color)


def polygon(canvas: np.ndarray, points, color) -> None:
    """A filled convex polygon, vertices in either winding order (canvas pixels)."""
    pts = [(float(x), float(y)) for x, y in points]
    xs_, ys_ = [p[0] for p in pts], [p[1] for p in pts]
    box = _box(canvas, min(xs_) - 1, max(xs_) + 1, min(ys_) - 1, max(ys_) + 1)
    if box is None:
        return
    region, xs, ys = box
    area = sum(ax * by - bx * ay for (ax, ay), (bx, by) in zip(pts, pts[1:] + pts[:1]))
    sign = 1.0 if area > 0 else -1.0
    dist = None
    for (ax, ay), (bx, by) in zip(pts, pts[1:] + pts[:1]):
        ex, ey = bx - ax, by - ay
        norm = sign / (math.hypot(ex, ey) or 1.0)
        d = (xs - ax) * (ey * norm) + (ys - ay) * (-ex * norm)  # (h, w), > 0 outside this edge
        dist = d if dist is None else np.maximum(dist, d, out=dist)
    _blend(canvas, region, dist, color)


# ----------------------------------------------------------------------------------------------- actors


JOINTS = (
    "hip", "neck", "head",
    "l_shoulder", "l_elbow", "l_hand", "l_hip", "l_knee", "l_foot",
    "r_shoulder", "r_elbow", "r_hand", "r_hip", "r_knee", "r_foot",
)  # fmt: skip


def head_top(actor: Actor) -> np.ndarray:
    """(T,) canvas y of the top of ``actor``'s head in every frame, a cap or hair included (1.15 head radii)."""
    joints, info = skeleton(actor)
    return joints[:, JOINTS.index("head"), 1] - 1.15 * HEAD_R * actor.look.head_scale * info[:, 0]


def skeleton(actor: Actor) -> tuple[np.ndarray, np.ndarray]:
    """Screen positions of the joints of ``actor`` in every frame.

    The pose lives in a body frame (x forward, y up, z lateral: left +, right -) in units of the actor's height.
    The view angle rotates it about the vertical axis (90 deg = profile, 0 = facing the camera) and ``facing``
    mirrors it; ``roll`` (falls) then rotates the whole figure about its feet in the image plane.

    Returns:
        joints float32 (T, len(JOINTS), 2) in canvas pixels, and per-frame (T, 4): height in pixels, sin(view),
        cos(view) * facing, roll.
    """
    q = actor.pose.astype(np.float64)  # (T, len(DOF))
    num = len(q)
    look = actor.look
    theta = math.radians(actor.view)
    sin_v, cos_v = math.sin(theta), math.cos(theta)
    lean = q[:, DOF.index("torso")]
    cl, sl = np.cos(lean), np.sin(lean)
    zeros, ones = np.zeros(num), np.ones(num)
    hip = np.stack([zeros, ones * (THIGH + SHIN), zeros], axis=1)  # (T, 3)

    def upper(y: float, z: float) -> np.ndarray:  # torso frame -> body frame: rotate by the lean about the hip
        return hip + np.stack([y * sl, y * cl, z * ones], axis=1)

    def limb(start: np.ndarray, angle: np.ndarray, length: float) -> np.ndarray:  # angle from straight down
        return start + length * np.stack([np.sin(angle), -np.cos(angle), zeros], axis=1)

    head_r = HEAD_R * look.head_scale
    pts = {"hip": hip, "neck": upper(TORSO, 0.0), "head": upper(TORSO + NECK + head_r, 0.0)}
    for side, z in (("l", 1.0), ("r", -1.0)):
        shoulder = upper(TORSO - 0.02, z * look.shoulder_width)
        a = q[:, DOF.index(f"{side}_shoulder")] + lean
        elbow = limb(shoulder, a, UPPER_ARM)
        hand = limb(elbow, a + q[:, DOF.index(f"{side}_elbow")], FOREARM)
        hip_side = hip + np.array([0.0, 0.0, z * look.hip_width])
        c = q[:, DOF.index(f"{side}_hip")]
        knee = limb(hip_side, c, THIGH)
        foot = limb(knee, c - q[:, DOF.index(f"{side}_knee")], SHIN)
        pts.update({f"{side}_shoulder": shoulder, f"{side}_elbow": elbow, f"{side}_hand": hand})
        pts.update({f"{side}_hip": hip_side, f"{side}_knee": knee, f"{side}_foot": foot})
    p = np.stack([pts[n] for n in JOINTS], axis=1)  # (T, J, 3) body frame
    sx = (p[..., 0] * sin_v + p[..., 2] * cos_v) * actor.facing  # (T, J) screen x in heights
    sy = -p[..., 1]
    roll = actor.roll.astype(np.float64)[:, None]  # (T, 1)
    sx, sy = sx * np.cos(roll) - sy * np.sin(roll), sx * np.sin(roll) + sy * np.cos(roll)
    height = actor.height * actor.scale.astype(np.float64)  # (T,)
    ox = actor.x + actor.drift[:, 0] + q[:, DOF.index("root_x")] * actor.height
    oy = actor.floor + actor.drift[:, 1] - q[:, DOF.index("root_y")] * actor.height
    joints = np.stack([ox[:, None] + sx * height[:, None], oy[:, None] + sy * height[:, None]], axis=-1)
    info = np.stack([height, sin_v * ones, cos_v * actor.facing * ones, roll[:, 0]], axis=1)  # (T, 4)
    return joints, info


def _torso_quad(j: dict, height: float, sin_v: float, cos_f: float, look) -> list:
    """Screen quad of the torso: shoulders to hips, widths from the lateral extent and the chest depth."""
    neck, hip = j["neck"], j["hip"]
    axis = neck - hip
    norm = math.hypot(*axis) or 1.0
    perp = np.array([-axis[1], axis[0]]) / norm
    w_sh = height * math.hypot(look.shoulder_width * cos_f, TORSO_DEPTH * sin_v) + height * 0.015
    w_hip = height * math.hypot(look.hip_width * 1.5 * cos_f, TORSO_DEPTH * 0.9 * sin_v) + height * 0.015
    top = neck - axis * 0.02
    return [top + perp * w_sh, top - perp * w_sh, hip - perp * w_hip, hip + perp * w_hip]


def draw_actor(canvas: np.ndarray, actor: Actor, j: dict, hold: tuple[str, np.ndarray] | None = None) -> None:
    """Draw one actor from its screen joints ``j`` (see :func:`skeleton`).

    Args:
        hold: ``(side, point)`` to draw the ``side`` arm ("l" or "r") reaching to ``point`` (holding hands).
    """
    look = actor.look
    height, sin_v, cos_f, _ = (float(v) for v in j["_info"])
    px = max(height, 1.0)
    skin, shirt, pants = look.skin, look.shirt, look.pants
    arm_color = skin if look.nude else shirt
    forearm_color = skin if (look.nude or not look.long_sleeves) else shirt
    leg_color = skin if look.nude else pants
    far, near = "l", "r"  # the camera looks along -z of the body frame: the right side is the near one
    if look.female:  # long hair hangs behind the head and shoulders
        hair_end = j["head"] + (j["neck"] - j["head"]) * 1.6
        capsule(canvas, j["head"], hair_end, HEAD_R * look.head_scale * 1.02 * px, look.hair)

    def leg(side: str) -> None:
        capsule(canvas, j[f"{side}_hip"], j[f"{side}_knee"], LEG_R * px, leg_color)
        capsule(canvas, j[f"{side}_knee"], j[f"{side}_foot"], LEG_R * 0.85 * px, leg_color)
        disc(canvas, j[f"{side}_foot"], FOOT_R * px, look.shoes)

    def arm(side: str) -> None:
        if hold is not None and hold[0] == side:
            mid = (j[f"{side}_shoulder"] + hold[1]) / 2
            capsule(canvas, j[f"{side}_shoulder"], mid, ARM_R * px, arm_color)
            capsule(canvas, mid, hold[1], ARM_R * 0.9 * px, forearm_color)
            disc(canvas, hold[1], HAND_R * px, skin)
            return
        capsule(canvas, j[f"{side}_shoulder"], j[f"{side}_elbow"], ARM_R * px, arm_color)
        capsule(canvas, j[f"{side}_elbow"], j[f"{side}_hand"], ARM_R * 0.9 * px, forearm_color)
        disc(canvas, j[f"{side}_hand"], HAND_R * px, skin)

    arm(far)
    leg(far)
    leg(near)
    if look.coat:  # a long coat over the thighs (Casia-B "cl")
        quad = _torso_quad(j, height, sin_v, cos_f, look)
        down = (j["hip"] - j["neck"]) * 0.75
        polygon(canvas, [quad[3], quad[2], quad[2] + down * 1.1, quad[3] + down * 1.1], look.coat_color)
    if look.nude and not look.female:  # shorts
        seat = [j["l_hip"], j["r_hip"], j["r_hip"] + (j["r_knee"] - j["r_hip"]) * 0.35]
        polygon(canvas, seat + [j["l_hip"] + (j["l_knee"] - j["l_hip"]) * 0.35], pants)
    if look.female:  # skirt: a trapezoid from the waist to above the knees, whatever the legs do
        waist = j["hip"] + (j["neck"] - j["hip"]) * 0.1
        down = (j["hip"] - j["neck"]) * (0.75 if not look.nude else 0.5)
        axis = j["neck"] - j["hip"]
        perp = np.array([-axis[1], axis[0]]) / (math.hypot(*axis) or 1.0)
        w0 = height * math.hypot(look.hip_width * 1.6 * cos_f, TORSO_DEPTH * sin_v) + 0.02 * height
        w1 = w0 * 1.8
        polygon(canvas, [waist + perp * w0, waist - perp * w0, waist + down - perp * w1, waist + down + perp * w1],
                look.skirt)  # fmt: skip
    polygon(canvas, _torso_quad(j, height, sin_v, cos_f, look), skin if look.nude else shirt)
    if look.nude and look.female:  # a swimsuit band across the chest
        chest = j["hip"] + (j["neck"] - j["hip"]) * 0.75
        capsule(canvas, chest, chest, 0.06 * px, look.skirt)
    if look.bag:  # a shoulder bag at the near hip (Casia-B "bg")
        bag_at = j["r_hip"] + (j["neck"] - j["hip"]) * 0.3
        capsule(canvas, bag_at, bag_at + np.array([0.0, 0.06 * height]), 0.06 * px, look.bag_color)
    capsule(canvas, j["neck"], j["head"], 0.035 * px, skin)
    _draw_head(canvas, actor, j, px, sin_v)
    arm(near)


def _draw_head(canvas: np.ndarray, actor: Actor, j: dict, px: float, sin_v: float) -> None:
    """Head disc, hair, face marks (eyes and mouth) and a mask or cap covering half of the face."""
    look = actor.look
    c = j["head"]
    r = HEAD_R * look.head_scale * px
    eye_r, mouth_r = look.face_marks
    up = j["head"] - j["neck"]
    up = up / (math.hypot(*up) or 1.0)  # unit vector towards the top of the head, screen coordinates
    side = np.array([-up[1], up[0]])
    facing = sin_v * actor.facing  # how far the face turns sideways on screen (a cartoon face, drawn in every view)
    disc(canvas, c, r, look.skin)
    # hair cap over the top of the head: the disc cut by a line across the forehead
    fringe = 0.15 if look.female else 0.35
    disc(canvas, c, r * 1.06, look.hair, cut=(-up[0], -up[1], -fringe * r))
    if look.face:
        eye_c = c + up * 0.02 * r + side * facing * 0.3 * r
        for s in (-1.0, 1.0):
            disc(canvas, eye_c + side * s * 0.36 * r * (1 - 0.5 * abs(facing)), eye_r * r, (25, 20, 20))
        mouth = c - up * 0.5 * r + side * facing * 0.3 * r
        capsule(canvas, mouth - side * 0.28 * r, mouth + side * 0.28 * r, mouth_r * r, (150, 40, 45))
    if look.cover == 1:  # face mask over the lower half
        disc(canvas, c, r * 1.02, look.cover_color, cut=(up[0], up[1], -0.2 * r))
    elif look.cover == 2:  # cap with a brim down over the eyes
        disc(canvas, c, r * 1.1, look.cover_color, cut=(-up[0], -up[1], 0.25 * r))
        brim = c - up * 0.2 * r + side * facing * 0.9 * r
        capsule(canvas, c - up * 0.2 * r, brim + side * facing * 0.35 * r, 0.14 * r, look.cover_color)


# ----------------------------------------------------------------------------------------------- scenes


def _hold_points(scene: Scene, joints: list[dict], t: int) -> dict[int, tuple[str, np.ndarray]]:
    """For each actor holding a partner's hand at frame ``t``: the arm side and the meeting point."""
    holds: dict[int, tuple[str, np.ndarray]] = {}
    for a, b in scene.holds:
        if scene.hold_off is not None and scene.hold_off[t]:
            continue
        ja, jb = joints[a], joints[b]
        sides = []
        for me, other in ((ja, jb), (jb, ja)):
            dl = abs(me["l_shoulder"][0] - other["neck"][0])
            dr = abs(me["r_shoulder"][0] - other["neck"][0])
            sides.append("l" if dl <= dr else "r")
        sa, sb = ja[f"{sides[0]}_shoulder"], jb[f"{sides[1]}_shoulder"]
        drop = 0.3 * (ja["_info"][0] + jb["_info"][0]) / 2
        meet = (sa + sb) / 2 + np.array([0.0, drop])
        holds[a], holds[b] = (sides[0], meet), (sides[1], meet)
    return holds


_NOISE_PAD = 16


@functools.lru_cache(maxsize=4)
def _noise_bank(height: int, width: int) -> np.ndarray:
    """A fixed bank of standard-normal camera noise, (16, H + 16, W + 16, 3) float32, cut at per-frame offsets."""
    rng = np.random.default_rng(20240613)
    return rng.standard_normal((16, height + _NOISE_PAD, width + _NOISE_PAD, 3), dtype=np.float32)


def render_scene(scene: Scene, frames: range | None = None) -> np.ndarray:
    """Render frames of a scene.

    Args:
        scene: background, actors (each with T poses) and camera parameters.
        frames: frame indices to render; all T by default.

    Returns:
        uint8 array (len(frames), H, W, 3), RGB.
    """
    frames = range(scene.num_frames) if frames is None else frames
    m = scene.margin
    h, w = scene.size
    out = np.empty((len(frames), h, w, 3), np.uint8)
    bank = _noise_bank(h, w)
    skeletons = [skeleton(actor) for actor in scene.actors]
    for i, t in enumerate(frames):
        canvas = scene.background.copy()  # (H + 2m, W + 2m, 3) float32
        joints = [{**dict(zip(JOINTS, pts[t])), "_info": info[t]} for pts, info in skeletons]
        holds = _hold_points(scene, joints, t)
        for k in scene.draw_order:
            draw_actor(canvas, scene.actors[k], joints[k], holds.get(k))
        dx, dy = (int(v) for v in scene.jitter[t])
        dy, dx = dy + scene.offset[0], dx + scene.offset[1]
        if scene.pan is not None:
            dx += int(scene.pan[t])
        view = canvas[m + dy : m + dy + h, m + dx : m + dx + w]
        k = (scene.noise_seed + 7919 * t) % (len(bank) * _NOISE_PAD * _NOISE_PAD)  # which noise tile, where
        b, oy, ox = k % len(bank), (k // len(bank)) % _NOISE_PAD, k // (len(bank) * _NOISE_PAD)
        noise = bank[b, oy : oy + h, ox : ox + w]
        frame = view * scene.flicker[t]
        frame += noise * scene.noise_sigma
        out[i] = np.clip(frame, 0, 255, out=frame)
    return out
