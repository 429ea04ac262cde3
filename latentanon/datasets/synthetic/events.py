"""Timelines of the long videos: action segments between idle periods, wandering, anomalies, and gait walks.

All functions take and return per-frame arrays (T = number of frames) or edit a :class:`Scene` in place. Frame
ranges are inclusive and 0-based, as in the annotations the suites write.

Anomalies break the normal motion for an exact frame range ``[start, end]``:
    * ``Falling``: the actor tips over about the feet to lie on the floor (8 frames), struggles there with
      thrashing arms and legs (2-3.5 Hz; benchmark 2: 4.5-6 Hz, 1.4x the amplitude, and it rocks up and down
      trying to get up), gets up again;
    * ``Fighting``: two actors step together and flail their arms and torso fast (4-6 Hz, large amplitude);
    * ``Running``: the actor sprints across the frame (1-1.6 frame widths per second, strides at 3.5-4.5 Hz;
      benchmark 2: 2-2.8 widths per second, 5-6 Hz), wrapping around the edges; it stays where it stopped.
The ranges are fields of :class:`world.Style` (``thrash``, ``sprint``), chosen by the benchmark version.
"""

from __future__ import annotations

import math

import numpy as np

from latentanon.datasets.synthetic.world import (
    BIAS,
    DOF,
    LEVEL_HZ,
    STYLES,
    Actor,
    Identity,
    Scene,
    Style,
    action_pose,
    camera,
    gait_pose,
    idle_pose,
    make_background,
    sample_look,
)

RISE = 4  # frames of blending at each end of an action segment


def envelope(num_frames: int, start: int, end: int, rise: int = RISE) -> np.ndarray:
    """(T,) float32 weight: 1 on ``[start, end]`` away from its edges, ramping linearly over ``rise`` frames inside."""
    t = np.arange(num_frames, dtype=np.float32)
    up = np.clip((t - start + 1) / rise, 0, 1)
    down = np.clip((end - t + 1) / rise, 0, 1)
    return np.minimum(up, down)


def untrimmed_pose(
    rng: np.random.Generator,
    segments: list[tuple[int, int, int]],
    num_frames: int,
    fps: float,
    level_hz=LEVEL_HZ,
) -> np.ndarray:
    """Idle motion with the action ``(class, start, end)`` segments blended in: float32 (T, len(DOF))."""
    pose = idle_pose(rng, num_frames, fps)
    for action, start, end in segments:
        env = envelope(num_frames, start, end)[:, None]  # (T, 1)
        pose = pose * (1 - env) + action_pose(rng, action, num_frames, fps, level_hz) * env
    return pose.astype(np.float32)


def random_segments(
    rng: np.random.Generator, num_frames: int, fps: float, num_classes: int, seconds=(1.5, 4.0), gap=(0.5, 2.0)
) -> list[tuple[int, int, int]]:
    """Random ``(class, start, end)`` activity segments separated by idle gaps, filling ``num_frames``."""
    out, t = [], int(rng.uniform(*gap) * fps)
    while True:
        length = int(rng.uniform(*seconds) * fps)
        if t + length >= num_frames:
            return out
        out.append((int(rng.integers(num_classes)), t, t + length - 1))
        t += length + int(rng.uniform(*gap) * fps)


def wander(rng: np.random.Generator, num_frames: int, fps: float, width: float) -> np.ndarray:
    """Slow horizontal wandering (two low-frequency sinusoids), (T, 2) float32 pixels (y offset zero)."""
    t = np.arange(num_frames) / fps
    x = np.zeros(num_frames)
    for _ in range(2):
        x += rng.uniform(0.03, 0.12) * width * np.sin(2 * np.pi * rng.uniform(0.02, 0.12) * t + rng.uniform(0, 6.3))
    return np.stack([x, np.zeros(num_frames)], axis=1).astype(np.float32)


# ----------------------------------------------------------------------------------------------- anomalies


def _blend_pose(actor: Actor, pose: np.ndarray, start: int, end: int) -> None:
    env = envelope(len(actor.pose), start, end, rise=3)[:, None]
    actor.pose = (actor.pose * (1 - env) + pose * env).astype(np.float32)


def _fast(rng: np.random.Generator, num_frames: int, fps: float, joints: dict[str, tuple]) -> np.ndarray:
    """Rest pose plus oscillations ``{dof: (amp range, Hz range)}``: float32 (T, len(DOF))."""
    pose = np.tile(BIAS, (num_frames, 1)).astype(np.float64)
    t = np.arange(num_frames) / fps
    for name, (amp, hz) in joints.items():
        i = DOF.index(name)
        pose[:, i] += rng.uniform(*amp) * np.sin(2 * np.pi * rng.uniform(*hz) * t + rng.uniform(0, 2 * np.pi))
    return pose.astype(np.float32)


def add_fall(
    rng: np.random.Generator, scene: Scene, k: int, start: int, end: int, fps: float, style: Style = STYLES[1]
) -> None:
    """Actor ``k`` falls over at ``start``, struggles on the floor, and is up again at ``end``."""
    actor = scene.actors[k]
    n = max(2, min(8, (end - start + 1) // 3))
    angle = float(rng.choice([-1.0, 1.0])) * math.pi / 2 * rng.uniform(0.9, 1.0)
    roll = np.zeros(len(actor.roll), np.float32)
    roll[start : start + n] = np.linspace(0, angle, n)
    roll[start + n : end - n + 1] = angle
    (lo, hi), g, rock = style.thrash
    if rock > 0:  # repeated attempts to get up: the body rocks back up by a share of the angle, ~2 Hz
        t = np.arange(end - n + 1 - (start + n)) / fps
        lift = 0.5 - 0.5 * np.cos(2 * np.pi * rng.uniform(1.6, 2.4) * t)
        roll[start + n : end - n + 1] = angle * (1 - rock * lift)
    roll[end - n + 1 : end + 1] = np.linspace(angle, 0, n)
    actor.roll = roll
    # on the floor the person struggles to get up: arms and legs thrash (not a calm action's slow swing)
    arms, legs = (lo, hi), (lo - 0.5, hi - 0.5)  # legs a little slower than arms
    struggle = _fast(
        rng,
        len(actor.pose),
        fps,
        {
            "l_shoulder": ((0.6 * g, 1.0 * g), arms), "r_shoulder": ((0.6 * g, 1.0 * g), arms),
            "l_elbow": ((0.3 * g, 0.6 * g), arms), "r_elbow": ((0.3 * g, 0.6 * g), arms),
            "l_hip": ((0.3 * g, 0.6 * g), legs), "r_hip": ((0.3 * g, 0.6 * g), legs),
            "l_knee": ((0.3 * g, 0.5 * g), legs), "r_knee": ((0.3 * g, 0.5 * g), legs),
            **({
                "torso": ((0.2, 0.35), arms), "root_x": ((0.03, 0.06), arms), "root_y": ((0.03, 0.05), arms),
            } if rock > 0 else {}),  # and the whole body shakes
        },
    )  # fmt: skip
    _blend_pose(actor, struggle, start, end)


def add_fight(rng: np.random.Generator, scene: Scene, a: int, b: int, start: int, end: int, fps: float) -> None:
    """Actors ``a`` and ``b`` step together and flail fast during ``[start, end]``, then step back."""
    fa, fb = scene.actors[a], scene.actors[b]
    num = len(fa.pose)
    gap = 0.35 * (fa.height + fb.height) / 2
    pos_a = fa.x + fa.drift[start, 0]
    pos_b = fb.x + fb.drift[start, 0]
    mid = (pos_a + pos_b) / 2
    side = 1.0 if pos_a <= pos_b else -1.0
    env = envelope(num, start, end, rise=8)  # (T,)
    fa.drift = fa.drift.copy()
    fb.drift = fb.drift.copy()
    fa.drift[:, 0] += env * (mid - side * gap / 2 - pos_a)
    fb.drift[:, 0] += env * (mid + side * gap / 2 - pos_b)
    fa.facing, fb.facing = side, -side
    for actor in (fa, fb):
        flail = _fast(
            rng,
            num,
            fps,
            {
                "l_shoulder": ((0.9, 1.5), (4.0, 6.0)), "r_shoulder": ((0.9, 1.5), (4.0, 6.0)),
                "l_elbow": ((0.4, 0.6), (4.0, 6.0)), "r_elbow": ((0.4, 0.6), (4.0, 6.0)),
                "torso": ((0.15, 0.3), (2.5, 4.0)), "root_x": ((0.03, 0.06), (3.0, 5.0)),
                "l_hip": ((0.2, 0.4), (2.0, 3.0)), "r_hip": ((0.2, 0.4), (2.0, 3.0)),
            },
        )  # fmt: skip
        _blend_pose(actor, flail, start, end)


def add_run(
    rng: np.random.Generator, scene: Scene, k: int, start: int, end: int, fps: float, style: Style = STYLES[1]
) -> None:
    """Actor ``k`` sprints across the frame during ``[start, end]`` (wrapping at the edges) and stays there."""
    actor = scene.actors[k]
    num = len(actor.pose)
    span_w = scene.background.shape[1]
    direction = float(rng.choice([-1.0, 1.0]))
    width = span_w - 2 * scene.margin
    env = envelope(num, start, end, rise=3)
    env[:start] = 0
    env[end + 1 :] = 0
    pad = 0.5 * actor.height
    span = span_w + 2 * pad
    # sprint at style.sprint widths per second, adjusted to stop inside the frame after wrapping around
    speed, hz = style.sprint
    x_start = actor.x + actor.drift[start, 0]
    x_stop = scene.margin + rng.uniform(0.15, 0.85) * width
    base = ((x_stop - x_start) * direction) % span
    wanted = rng.uniform(*speed) * width / fps * env.sum()
    distance = base + span * max(0, round((wanted - base) / span))
    travel = np.cumsum(direction * distance * env / env.sum())  # (T,) unwrapped extra offset
    pos = actor.x + actor.drift[:, 0] + travel
    wrap = np.zeros(num)  # multiples of the span removed while sprinting, kept afterwards
    wrap[start : end + 1] = (np.mod(pos + pad, span) - pad - pos)[start : end + 1]
    wrap[end + 1 :] = wrap[end]
    actor.drift = actor.drift.copy()
    actor.drift[:, 0] += travel + wrap
    actor.facing = direction
    actor.view = float(rng.uniform(70, 110))
    sprint = _fast(
        rng,
        num,
        fps,
        {
            "l_hip": ((0.5, 0.7), hz), "r_hip": ((0.5, 0.7), hz),
            "l_knee": ((0.3, 0.45), hz), "r_knee": ((0.3, 0.45), hz),
            "l_shoulder": ((0.6, 1.0), hz), "r_shoulder": ((0.6, 1.0), hz),
            "root_y": ((0.02, 0.04), (2 * hz[0], 2 * hz[1])), "torso": ((0.02, 0.05), (3.0, 4.0)),
        },
    )  # fmt: skip
    sprint[:, DOF.index("torso")] += 0.25  # leaning forward
    _blend_pose(actor, sprint, start, end)


ANOMALIES = {"Falling": add_fall, "Fighting": add_fight, "Running": add_run}


def add_anomaly(
    rng: np.random.Generator, scene: Scene, kind: str, start: int, end: int, fps: float, style: Style = STYLES[1]
) -> None:
    """Apply the anomaly ``kind`` (a key of :data:`ANOMALIES`) to the subject (actor 0) of ``scene``, with the
    thrash and sprint ranges of ``style``.

    Held hands are released during the event (for good after a run, since the runner ends up elsewhere).
    """
    if any(0 in pair for pair in scene.holds):
        hold_off = np.zeros(scene.num_frames, bool) if scene.hold_off is None else scene.hold_off.copy()
        hold_off[start : (end + 1 if kind != "Running" else None)] = True
        scene.hold_off = hold_off
    if kind == "Falling":
        add_fall(rng, scene, 0, start, end, fps, style)
    elif kind == "Fighting":
        if len(scene.actors) < 2:
            raise ValueError("a Fighting anomaly needs a scene with at least two actors")
        add_fight(rng, scene, 0, 1, start, end, fps)
    elif kind == "Running":
        add_run(rng, scene, 0, start, end, fps, style)
    else:
        raise ValueError(f"unknown anomaly {kind!r}; known: {sorted(ANOMALIES)}")


# ----------------------------------------------------------------------------------------------- gait


def gait_scene(
    rng: np.random.Generator,
    who: Identity,
    labels: tuple[int, ...],
    view: float,
    condition: str,
    num_frames: int,
    size: tuple[int, int],
    fps: float,
    background_rng: np.random.Generator,
    margin: int = 2,
    style: Style = STYLES[1],
) -> Scene:
    """One walk of ``who`` seen from ``view`` degrees (0 front, 90 side, 180 back) by a camera that pans along.

    The camera keeps the walker centred, so the background scrolls; walkers towards or away from the camera grow
    or shrink. ``condition``: ``nm`` normal, ``bg`` carrying a bag, ``cl`` wearing a coat. Clothing and hair
    colours change from walk to walk: body shape, skin, gender presentation and gait identify the subject.
    """
    height, width = size
    pose, speed = gait_pose(rng, who, num_frames, fps)
    actor_h = 0.62 * height * who.stature
    theta = math.radians(view)
    vx = speed * actor_h * math.sin(theta) / fps  # pixels per frame
    extra = int(math.ceil(abs(vx) * num_frames)) + 4
    background, floor = make_background(background_rng, height, width + extra, margin)
    look = sample_look(rng, who, labels[2], labels[3], labels[4], style)
    hair = tuple(float(c) for c in rng.uniform(20, 220, 3))
    look = type(look)(**{**look.__dict__, "hair": hair, "bag": condition == "bg", "coat": condition == "cl"})
    t = np.arange(num_frames)
    pan_f = (0.0 if vx >= 0 else -vx * (num_frames - 1)) + vx * t  # (T,) in [0, |vx| (T - 1)]
    pan = np.clip(np.round(pan_f), 0, extra).astype(np.int64)
    x = margin + width / 2 + rng.uniform(-0.08, 0.08) * width + pan_f  # (T,) canvas x of the walker
    x0 = float(x[0])
    scale = 1 + math.cos(theta) * speed * (t - num_frames / 2) / fps / 5.0  # 5 heights from the camera
    drift = np.stack([x - x0, np.zeros(num_frames)], axis=1).astype(np.float32)
    actor = Actor(
        look=look,
        height=actor_h,
        x=x0,
        floor=floor + margin,
        view=view,
        facing=1.0,
        pose=pose,
        drift=drift,
        roll=np.zeros(num_frames, np.float32),
        scale=scale.astype(np.float32),
    )
    jitter, flicker = camera(rng, num_frames, fps, margin)
    return Scene(
        background=background,
        size=(height, width),
        margin=margin,
        floor=floor,
        actors=[actor],
        holds=[],
        jitter=jitter,
        flicker=flicker,
        noise_seed=int(rng.integers(2**31)),
        noise_sigma=float(rng.uniform(2.0, 5.0)),
        draw_order=[0],
        pan=pan,
    )
