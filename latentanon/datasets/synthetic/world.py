"""The synthetic world: private attributes as static appearance, actions as motion only, scenes and camera.

Attributes. Seven binary private attributes named as VISPR-1 (:data:`ATTRIBUTES`, in this order), each a static
appearance cue visible in one 112 px frame: ``a17_color`` dark (1) vs light (0) skin on head, hands and bare
limbs; ``a4_gender`` female presentation (1: long hair, skirt, narrow shoulders) vs male (0: short hair, broad
shoulders, trousers); ``a9_face_complete`` eyes and mouth drawn; ``a10_face_partial`` a mask over the lower half
or a cap over the upper half of the face; ``a12_semi_nudity`` bare skin-coloured torso and limbs vs clothes;
``a64_rel_personal`` two actors holding hands; ``a65_rel_social`` a group of three or four actors. Everyone in
a scene shares the five per-person attributes of its subject (so image labels are unambiguous); clothing colours,
hair colour, body build, size, position, view angle, background and camera vary.

Actions. Every action animates the same eleven degrees of freedom (:data:`DOF`: body sway and bob, torso lean,
shoulders, elbows, hips, knees), each as ``bias + A * sin(2 pi f t + phi)`` with the amplitude ``A`` drawn from
the same range for every action and an independent uniform phase ``phi`` per joint and video. Actions differ
*only* in the per-joint frequencies (:data:`ACTION_CODES`: still, about 1.1 Hz or about 2.8 Hz). With uniform
independent phases the pose at any single instant has the same distribution for every action, whatever the
frequencies, so one frame carries no information about the action; a clip of 16 frames shows which joints
oscillate and how fast. A frequency of zero is allowed: the joint then holds the random angle
``bias + A sin(phi)``, which has the same distribution as a moving joint at any instant.

Subjects. An :class:`Identity` fixes skin tone, gender presentation, hair, build, stature and a gait signature
(stride frequency, hip/knee/arm amplitudes, arm phase, lean, bob) used by the gait suite.
"""

from __future__ import annotations

import colorsys
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from latentanon.datasets.vispr import ATTRIBUTES as ATTRIBUTES  # the VISPR-1 ids, re-exported for the suites

SKIN, GENDER, FACE, PARTIAL, NUDITY, PERSONAL, SOCIAL = range(7)

DOF = (
    "root_x", "root_y", "torso",
    "l_shoulder", "l_elbow", "r_shoulder", "r_elbow",
    "l_hip", "l_knee", "r_hip", "r_knee",
)  # fmt: skip
# rest pose; root offsets in heights, angles in radians (shoulder/hip 0 = hanging down, elbow/knee = bend)
BIAS = np.array([0.0, 0.0, 0.05, 0.0, 0.6, 0.0, 0.6, 0.0, 0.5, 0.0, 0.5], np.float32)
# amplitude range of every DOF, identical for every action
AMPLITUDE = np.array(
    [[0.06, 0.14], [0.03, 0.06], [0.12, 0.3], [0.7, 1.3], [0.35, 0.6], [0.7, 1.3], [0.35, 0.6],
     [0.3, 0.55], [0.3, 0.45], [0.3, 0.55], [0.3, 0.45]], np.float32,
)  # fmt: skip
LEVEL_HZ = ((0.0, 0.0), (0.9, 1.3), (2.4, 3.2))  # frequency ranges of the levels still / mid / fast (benchmark 1)
# per-DOF frequency level of every action, in DOF order; classes sorted so every layout numbers them alike
ACTION_CODES = {
    "bow":   (0, 0, 2, 0, 0, 0, 0, 1, 0, 1, 0),
    "clap":  (0, 1, 1, 1, 2, 1, 2, 0, 0, 0, 0),
    "jump":  (0, 2, 0, 0, 0, 0, 0, 2, 2, 2, 2),
    "kick":  (1, 0, 1, 0, 0, 0, 0, 0, 0, 2, 2),
    "punch": (1, 0, 2, 2, 2, 2, 2, 0, 1, 0, 1),
    "run":   (2, 2, 0, 2, 2, 2, 2, 2, 2, 2, 2),
    "spin":  (2, 0, 2, 1, 1, 1, 1, 0, 0, 0, 0),
    "squat": (0, 1, 2, 0, 1, 0, 1, 1, 1, 1, 1),
    "walk":  (1, 1, 0, 1, 0, 1, 0, 1, 1, 1, 1),
    "wave":  (0, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0),
}  # fmt: skip
CLASSES = tuple(sorted(ACTION_CODES))


@dataclass(frozen=True)
class Style:
    """What a benchmark version changes in the rendering (identical code paths, other constants).

    Attributes:
        level_hz: frequency ranges of the still / mid / fast levels of :data:`ACTION_CODES`.
        actor_scale: standing height range, as a share of the frame height, for scenes of 1, 2 and 3+ actors.
        head_scale: head radius multiplier (1: the body proportions of ``render.HEAD_R``).
        face_marks: eye radius and mouth thickness as shares of the head radius.
        event_seconds: duration range of an anomaly event, and its largest share of the video.
        thrash: a fallen person's struggle, ``(limb Hz range, limb amplitude gain, rock)``: with ``rock`` > 0 the
            person also tries to get up about twice a second, regaining that share of the fall angle each time.
        sprint: a runner's speed in frame widths per second and stride frequency range (Hz).
        anomaly_group_scale: standing height range of the actors of a group (3+) in anomaly scenes, or None for
            ``actor_scale``'s (a smaller group's fall or sprint was invisible to a frozen encoder's pooled feature).
        image_zoom: a closer camera for privacy images, or None (the framing of video clips): zoom ranges for images
            of one subject (alone or beside someone), and of two people holding hands or a group (everyone stays in
            view); the scene is composed at the zoomed size and the frame cut around the subject's head and upper
            body, as in people-centric photos, where faces are larger (a head of 6-8 px left face marks unreadable).
        cover_color: saturation and value ranges of the colour of a face mask or cap.
        image_cover: ``cover_color`` of privacy images, or None for the same: bright surgical masks and caps (a dull
            cap took the hair's colour and a grey mask the skin's shade, and a10_face_partial leaked at base + 0.11).
    """

    level_hz: tuple[tuple[float, float], ...]
    actor_scale: tuple[tuple[float, float], tuple[float, float], tuple[float, float]]
    head_scale: float
    face_marks: tuple[float, float]
    event_seconds: tuple[float, float, float] = (2.5, 5.0, 0.25)
    thrash: tuple[tuple[float, float], float, float] = ((2.0, 3.5), 1.0, 0.0)
    sprint: tuple[tuple[float, float], tuple[float, float]] = ((1.0, 1.6), (3.5, 4.5))
    anomaly_group_scale: tuple[float, float] | None = None
    image_zoom: tuple[tuple[float, float], tuple[float, float]] | None = None
    cover_color: tuple[tuple[float, float], tuple[float, float]] = ((0.0, 0.9), (0.2, 1.0))
    image_cover: tuple[tuple[float, float], tuple[float, float]] | None = None


# benchmark 1: the original layout; 2: motion levels further apart (a 16-frame clip at 25 fps holds about one
# mid and two to three fast cycles), larger actors, and a head 1.35x larger with bold face marks, so that eyes,
# mouth, masks and caps stay visible at the 64 px input of the -tiny encoders; anomalies last longer, a fallen
# person thrashes and a runner strides faster than any action's fast level, and runs faster (anomaly suite v4)
STYLES = {
    1: Style(LEVEL_HZ, ((0.55, 0.8), (0.5, 0.68), (0.4, 0.55)), 1.0, (0.17, 0.09)),
    2: Style(
        ((0.0, 0.0), (1.5, 2.1), (3.4, 4.4)),
        ((0.72, 0.9), (0.6, 0.76), (0.46, 0.6)),
        1.35,
        (0.25, 0.14),
        event_seconds=(5.0, 8.0, 0.3),
        thrash=((4.5, 6.0), 1.4, 0.45),
        sprint=((2.0, 2.8), (5.0, 6.0)),
        anomaly_group_scale=(0.6, 0.76),
        image_zoom=((1.0, 1.8), (1.0, 1.3)),
        image_cover=((0.75, 1.0), (0.7, 1.0)),
    ),
}

RGB = tuple[float, float, float]
_HAIR = ((25, 20, 20), (60, 40, 25), (110, 75, 45), (205, 175, 105), (140, 60, 30), (165, 165, 160))
_SKIN_LIGHT = ((245, 212, 185), (205, 160, 125))
_SKIN_DARK = ((140, 95, 65), (72, 46, 32))


# ----------------------------------------------------------------------------------------------- people


@dataclass(frozen=True)
class Identity:
    """A subject: fixed skin, gender presentation, hair, build and gait signature.

    ``gait`` = (stride Hz, hip amplitude, knee amplitude, arm amplitude, arm phase offset, lean, bob), radians and
    heights.
    """

    subject: str
    female: bool
    dark: bool
    skin: RGB
    hair: RGB
    build: float
    stature: float
    gait: tuple[float, ...]


@dataclass(frozen=True)
class Look:
    """Static appearance of one actor in one video (the colours are RGB 0-255)."""

    skin: RGB
    hair: RGB
    shirt: RGB
    pants: RGB
    skirt: RGB
    shoes: RGB
    cover_color: RGB
    coat_color: RGB
    bag_color: RGB
    female: bool
    face: bool
    cover: int  # 0 none, 1 mask over the lower half of the face, 2 cap over the upper half
    nude: bool
    long_sleeves: bool
    shoulder_width: float
    hip_width: float
    bag: bool = False
    coat: bool = False
    head_scale: float = 1.0  # head radius multiplier (Style.head_scale)
    face_marks: tuple[float, float] = (0.17, 0.09)  # eye radius and mouth thickness / head radius


HUE_BINS = 6  # shirt colour classes of the pretraining suite (appearance labels that are not private)


def _color(rng: np.random.Generator, sat=(0.35, 0.9), val=(0.25, 0.95), hue_bin: int | None = None) -> RGB:
    """A random colour; ``hue_bin`` (0..HUE_BINS-1) moves the drawn hue into that sixth of the circle."""
    h, s, v = rng.uniform(0, 1), rng.uniform(*sat), rng.uniform(*val)
    if hue_bin is not None:
        h = (hue_bin + h) / HUE_BINS
    r, g, b = colorsys.hsv_to_rgb(h, s, v)
    return (255 * r, 255 * g, 255 * b)


def _jitter(rng: np.random.Generator, color, amount: float) -> RGB:
    return tuple(float(np.clip(c + rng.uniform(-amount, amount), 0, 255)) for c in color)


def sample_identity(rng: np.random.Generator, subject: str, female: bool, dark: bool) -> Identity:
    """A subject with the given gender presentation and skin tone; everything else drawn from ``rng``."""
    lo, hi = _SKIN_DARK if dark else _SKIN_LIGHT
    u = rng.uniform()
    skin = _jitter(rng, [a + u * (b - a) for a, b in zip(lo, hi)], 8)
    hair = _jitter(rng, _HAIR[rng.integers(len(_HAIR))], 12)
    gait = (
        rng.uniform(0.8, 1.3),  # stride frequency, Hz
        rng.uniform(0.25, 0.5),  # hip swing
        rng.uniform(0.3, 0.8),  # knee flexion
        rng.uniform(0.15, 0.6),  # arm swing
        rng.uniform(-0.7, 0.7),  # arm phase offset from anti-phase
        rng.uniform(-0.05, 0.15),  # torso lean
        rng.uniform(0.005, 0.03),  # vertical bob
    )
    return Identity(subject, bool(female), bool(dark), skin, hair, rng.uniform(0.9, 1.1), rng.uniform(0.9, 1.1), gait)


def sample_look(
    rng: np.random.Generator,
    who: Identity,
    face: bool,
    partial: bool,
    nude: bool,
    style: Style = STYLES[1],
    shirt_hue: int | None = None,
) -> Look:
    """Clothes and accessories of ``who`` for one video (colours vary from video to video).

    ``shirt_hue`` fixes the shirt's hue bin (the pretraining suite's appearance label); the draws are the same.
    """
    shoulder = (rng.uniform(0.085, 0.1) if who.female else rng.uniform(0.115, 0.135)) * who.build
    hips = (rng.uniform(0.07, 0.085) if who.female else rng.uniform(0.055, 0.065)) * who.build
    return Look(
        skin=who.skin,
        hair=who.hair,
        shirt=_color(rng, hue_bin=shirt_hue),
        pants=_color(rng, sat=(0.2, 0.8), val=(0.15, 0.7)),
        skirt=_color(rng),
        shoes=_color(rng, sat=(0.0, 0.4), val=(0.05, 0.35)),
        cover_color=_color(rng, sat=style.cover_color[0], val=style.cover_color[1]),
        coat_color=_color(rng, sat=(0.1, 0.6), val=(0.2, 0.6)),
        bag_color=_color(rng, sat=(0.3, 0.9), val=(0.2, 0.8)),
        female=who.female,
        face=bool(face),
        cover=int(rng.integers(1, 3)) if partial else 0,
        nude=bool(nude),
        long_sleeves=bool(rng.uniform() < 0.5),
        shoulder_width=shoulder,
        hip_width=hips,
        head_scale=style.head_scale,
        face_marks=style.face_marks,
    )


# ----------------------------------------------------------------------------------------------- motion


def action_pose(rng: np.random.Generator, action: int, num_frames: int, fps: float, level_hz=LEVEL_HZ) -> np.ndarray:
    """Joint trajectories of one actor performing ``CLASSES[action]``.

    Returns:
        float32 (T, len(DOF)): ``BIAS + A sin(2 pi f t + phi)``, A from :data:`AMPLITUDE` (same for every
        action), f from the action's levels, phi uniform and independent per joint.
    """
    code = ACTION_CODES[CLASSES[action]]
    amp = rng.uniform(AMPLITUDE[:, 0], AMPLITUDE[:, 1])
    freq = np.array([rng.uniform(*level_hz[level]) for level in code])
    phase = rng.uniform(0, 2 * np.pi, len(DOF))
    t = np.arange(num_frames)[:, None] / fps  # (T, 1) seconds
    return (BIAS + amp * np.sin(2 * np.pi * freq * t + phase)).astype(np.float32)


def idle_pose(rng: np.random.Generator, num_frames: int, fps: float) -> np.ndarray:
    """Standing still with slow small movements (breathing, shifting weight): float32 (T, len(DOF))."""
    amp = rng.uniform(0.05, 0.15, len(DOF)) * AMPLITUDE[:, 0]
    freq = rng.uniform(0.15, 0.4, len(DOF))
    phase = rng.uniform(0, 2 * np.pi, len(DOF))
    t = np.arange(num_frames)[:, None] / fps
    return (BIAS + amp * np.sin(2 * np.pi * freq * t + phase)).astype(np.float32)


def gait_pose(rng: np.random.Generator, who: Identity, num_frames: int, fps: float) -> tuple[np.ndarray, float]:
    """Walking with the subject's gait signature (legs and arms in anti-phase, personal arm offset).

    Returns:
        pose float32 (T, len(DOF)) and the walking speed in body heights per second.
    """
    hz, hip_amp, knee_amp, arm_amp, arm_offset, lean, bob = who.gait
    hz *= rng.uniform(0.97, 1.03)
    w = 2 * np.pi * hz * np.arange(num_frames) / fps + rng.uniform(0, 2 * np.pi)  # (T,) stride phase
    pose = np.tile(BIAS, (num_frames, 1))
    for side, shift in (("l", 0.0), ("r", np.pi)):
        pose[:, DOF.index(f"{side}_hip")] = hip_amp * np.sin(w + shift)
        pose[:, DOF.index(f"{side}_knee")] = 0.1 + knee_amp * np.clip(np.sin(w + shift - np.pi / 2), 0, None)
        pose[:, DOF.index(f"{side}_shoulder")] = arm_amp * np.sin(w + shift + np.pi + arm_offset)
        pose[:, DOF.index(f"{side}_elbow")] = 0.3 + 0.5 * arm_amp * (1 + np.sin(w + shift + np.pi + arm_offset))
    pose[:, DOF.index("torso")] = lean + 0.02 * np.sin(2 * w)
    pose[:, DOF.index("root_y")] = bob * np.abs(np.sin(w))
    pose[:, DOF.index("root_x")] = 0.0
    speed = 2 * 2 * 0.48 * math.sin(hip_amp) * hz  # two steps per stride, step = 2 leg sin(hip swing)
    return pose.astype(np.float32), speed


# ----------------------------------------------------------------------------------------------- scenes


@dataclass(eq=False)
class Actor:
    """One person in a scene: appearance, placement and per-frame motion (T frames)."""

    look: Look
    height: float  # pixels, standing
    x: float  # pixels, body centre
    floor: float  # pixels, y of the feet
    view: float  # degrees: 90 profile, 0 facing the camera, 180 from behind
    facing: float  # +1 or -1 (mirror)
    pose: np.ndarray  # (T, len(DOF)) float32
    drift: np.ndarray  # (T, 2) extra screen offset in pixels
    roll: np.ndarray  # (T,) whole-body rotation about the feet, radians
    scale: np.ndarray  # (T,) size multiplier


@dataclass(eq=False)
class Scene:
    """A static background, actors and camera parameters for T frames."""

    background: np.ndarray  # (H + 2 margin, W + 2 margin (+ pan range), 3) float32; larger with an ``offset``
    size: tuple[int, int]  # (H, W) of the rendered frames
    margin: int
    floor: float  # y of the floor line, pixels (coordinates of the background without its margin)
    actors: list[Actor]
    holds: list[tuple[int, int]]  # pairs of actors holding hands
    jitter: np.ndarray  # (T, 2) int camera shift in pixels, within +-margin
    flicker: np.ndarray  # (T,) brightness multiplier
    noise_seed: int
    noise_sigma: float
    hold_off: np.ndarray | None = None  # (T,) bool: frames where the held hands are released
    draw_order: list[int] = field(default_factory=list)
    pan: np.ndarray | None = None  # (T,) int horizontal camera pan in pixels (a background wider than the frame)
    offset: tuple[int, int] = (0, 0)  # (y, x) of the frame inside a background composed larger (a closer camera)

    @property
    def num_frames(self) -> int:
        return len(self.flicker)


SCENE_KINDS = 9  # ramp (3) x texture (3): scene classes of the pretraining suite


def make_background(
    rng: np.random.Generator, height: int, width: int, margin: int, scene_kind: int | None = None
) -> tuple[np.ndarray, float]:
    """Wall (gradient, optional texture), floor below a line, and a few static props.

    ``scene_kind`` (0..SCENE_KINDS-1) fixes the ramp (``kind // 3``) and texture (``kind % 3``); the random draws
    are the same as without it.

    Returns:
        float32 (height + 2 margin, width + 2 margin, 3) in [0, 255], and the floor line y in frame pixels.
    """
    hc, wc = height + 2 * margin, width + 2 * margin
    ys = np.linspace(0, 1, hc, dtype=np.float32)[:, None, None]
    xs = np.linspace(0, 1, wc, dtype=np.float32)[None, :, None]
    c1, c2 = np.array(_color(rng, (0.0, 0.7), (0.2, 0.95))), np.array(_color(rng, (0.0, 0.7), (0.2, 0.95)))
    ramp_kind = int(rng.integers(3))  # drawn even when fixed, so that the later draws stay the same
    if scene_kind is not None:
        ramp_kind = scene_kind // 3
    ramp = {0: ys + 0 * xs, 1: xs + 0 * ys, 2: np.sqrt((xs - 0.5) ** 2 + (ys - 0.4) ** 2)}[ramp_kind]
    bg = c1 + (c2 - c1) * np.clip(ramp, 0, 1)  # (hc, wc, 3)
    kind = int(rng.integers(3))
    if scene_kind is not None:
        kind = scene_kind % 3
    if kind == 1:  # stripes / tiles
        k = rng.uniform(3, 12) * np.array([np.cos(a := rng.uniform(0, np.pi)), np.sin(a)])
        bg = bg + rng.uniform(6, 20) * np.sin(2 * np.pi * (k[0] * xs + k[1] * ys) + rng.uniform(0, 6.3))
    elif kind == 2:  # blotches: coarse noise upsampled
        coarse = rng.normal(0, rng.uniform(6, 18), (6, 6, 3))
        yi = np.minimum((ys[:, 0, 0] * 5.999).astype(int), 5)
        xi = np.minimum((xs[0, :, 0] * 5.999).astype(int), 5)
        bg = bg + coarse[yi][:, xi]
    floor = float(rng.uniform(0.8, 0.93) * height)
    fy = int(round(floor)) + margin
    floor_color = np.array(_color(rng, (0.0, 0.6), (0.15, 0.8)))
    bg[fy:] = floor_color + (ys[fy:] - ys[fy]) * rng.uniform(-60, 60)
    bg[max(fy - 1, 0) : fy + 1] = floor_color * 0.6
    for _ in range(int(rng.integers(0, 4))):  # props: boxes and round bushes behind the actors
        color = np.array(_color(rng))
        w, h = rng.uniform(0.08, 0.25) * width, rng.uniform(0.1, 0.35) * height
        x0 = rng.uniform(0, wc - w)
        if rng.uniform() < 0.5:
            bg[max(int(fy - h), 0) : fy, int(x0) : int(x0 + w)] = color
        else:
            yy, xx = np.mgrid[0:hc, 0:wc]
            inside = ((xx - x0 - w / 2) / (w / 2)) ** 2 + ((yy - fy + h / 2) / (h / 2)) ** 2 <= 1
            bg[inside] = color
    return np.clip(bg, 0, 255).astype(np.float32), floor


def camera(rng: np.random.Generator, num_frames: int, fps: float, margin: int) -> tuple[np.ndarray, np.ndarray]:
    """Camera jitter (T, 2) int (a bounded random walk) and brightness flicker (T,) float32."""
    steps = rng.choice([-1, 0, 0, 0, 0, 0, 0, 0, 1], size=(num_frames, 2))
    jitter = np.zeros((num_frames, 2), np.int64)
    for t in range(1, num_frames):
        jitter[t] = np.clip(jitter[t - 1] + steps[t], -margin, margin)
    t = np.arange(num_frames) / fps
    slow = rng.uniform(0, 0.04) * np.sin(2 * np.pi * rng.uniform(0.05, 0.5) * t + rng.uniform(0, 6.3))
    flicker = rng.uniform(0.9, 1.1) + slow + rng.normal(0, 0.012, num_frames)
    return jitter, flicker.astype(np.float32)


PoseFn = Callable[[np.random.Generator, int], np.ndarray]


def compose_scene(
    rng: np.random.Generator,
    labels: tuple[int, ...] | np.ndarray,
    subject: Identity,
    num_frames: int,
    size: tuple[int, int],
    fps: float,
    pose_fn: PoseFn,
    background: tuple[np.ndarray, float] | None = None,
    margin: int = 2,
    min_actors: int = 1,
    style: Style = STYLES[1],
    appearance: tuple[int, int] | None = None,
) -> Scene:
    """A scene showing ``subject`` with the seven attribute ``labels``.

    The number of actors follows the relationship attributes: 3-4 for ``a65_rel_social``, otherwise 2 holding
    hands for ``a64_rel_personal``, otherwise 1 (or, 30% of the time, 2 standing apart). Companions share the
    subject's per-person attributes. Actor 0 is the subject.

    Args:
        pose_fn: ``pose_fn(rng, k) -> (T, len(DOF))`` joint trajectories of actor ``k``.
        background: a precomputed ``make_background`` result (a fixed camera), else a new one.
        min_actors: at least this many actors (extra ones stand apart, so the relationship labels still hold).
        style: the benchmark version's rendering constants (:data:`STYLES`).
        appearance: ``(scene kind, shirt hue bin)`` to fix (the pretraining suite's labels), else drawn.
    """
    height, width = size
    labels = [int(v) for v in labels]
    if labels[SOCIAL]:
        n = int(rng.integers(3, 5))
    elif labels[PERSONAL]:
        n = 2
    else:
        n = 2 if rng.uniform() < 0.3 else 1
    n = max(n, min_actors)
    scene_kind, shirt_hue = appearance if appearance is not None else (None, None)
    if background is None:
        background = make_background(rng, height, width, margin, scene_kind)
    bg, floor = background
    scale = style.actor_scale[min(n, 3) - 1]
    if n == 1:
        xs = [rng.uniform(0.3, 0.7) * width]
    elif n == 2 and not labels[PERSONAL]:
        xs = [(0.25 + rng.uniform(-0.04, 0.04)) * width, (0.75 + rng.uniform(-0.04, 0.04)) * width]
    else:
        slots = np.linspace(0.12, 0.88, n + 1) * width
        xs = [rng.uniform(a + 0.3 * (b - a), b - 0.3 * (b - a)) for a, b in zip(slots[:-1], slots[1:])]
    heights = [rng.uniform(*scale) * height for _ in range(n)]
    holds = []
    if labels[PERSONAL]:  # the subject and the next actor stand close, hand in hand
        gap = 0.42 * (heights[0] + heights[1]) / 2
        centre = (xs[0] + xs[1]) / 2
        xs[0], xs[1] = centre - gap / 2, centre + gap / 2
        holds.append((0, 1))
    if rng.uniform() < 0.5:  # the subject is not always on the left
        xs = [width - x for x in xs]
    actors = []
    for k in range(n):
        who = subject if k == 0 else sample_identity(rng, f"{subject.subject}_c{k}", subject.female, subject.dark)
        look = sample_look(rng, who, labels[FACE], labels[PARTIAL], labels[NUDITY], style, shirt_hue)
        actors.append(
            Actor(
                look=look,
                height=heights[k] * who.stature,
                x=xs[k],
                floor=floor + margin + rng.uniform(-0.03, 0.03) * height,
                view=rng.uniform(35, 145),
                facing=float(rng.choice([-1.0, 1.0])),
                pose=pose_fn(rng, k),
                drift=np.zeros((num_frames, 2), np.float32),
                roll=np.zeros(num_frames, np.float32),
                scale=np.ones(num_frames, np.float32),
            )
        )
    for a in actors:  # actor coordinates include the margin of the canvas
        a.x += margin
    jitter, flicker = camera(rng, num_frames, fps, margin)
    return Scene(
        background=bg,
        size=(height, width),
        margin=margin,
        floor=floor,
        actors=actors,
        holds=holds,
        jitter=jitter,
        flicker=flicker,
        noise_seed=int(rng.integers(2**31)),
        noise_sigma=float(rng.uniform(2.0, 6.0)),
        draw_order=sorted(range(n), key=lambda k: actors[k].floor),
    )
