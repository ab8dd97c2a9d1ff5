"""Faces: a photo-like rendered head whose expression carries the emotion, unfolding in time.

The frame shows a shaded head with hair, eyes, brows, nose, lips, neck and shoulders on a studio
backdrop, blurred like a lens so that MTCNN accepts it. An Expression is composed like the voice's
prosody: neutral + the actor's resting face + for each emotion shown, weight * (strength * its prototype +
habit * the actor's style for it) + per-clip jitter, within LIMITS, where the weight follows the clip's
time course (timecourse.py): 0 at rest, 1 at the apex. The actor's style also tilts the head and turns
the gaze (make_scene).

Camera and light say nothing of the emotion: the actor's session sets the camera's distance and framing,
the backdrop and the key light; each clip moves the head, the light's direction and softness, the
exposure, the white balance and the lens blur (Scene). A face's average brightness or a thumbnail of it
is therefore no shortcut to the emotion.

The face is drawn and blurred twice, at rest and at the apex, each with MOUTH_LEVELS jaw openings
(render_moments); a video frame shows the two blended at its moment's weight (COURSE_LEVELS steps) and
the opening of its syllable.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter

from avemo.synth.actors import Actor, EmotionStyle, Manner, Shown, as_rgb
from avemo.synth.randomness import SESSION_STREAM
from avemo.synth.randomness import rng as seeded

WIDTH, HEIGHT = 480, 360
MAX_ROLL_DEG = 8.0
MOUTH_LEVELS = 4  # distinct jaw openings rendered per clip
COURSE_LEVELS = 5  # steps of the expression's weight between rest and apex that the video shows
SPEECH_OPENING = 0.11  # face units of extra lip gap at a loud syllable peak


@dataclass(frozen=True)
class Expression:
    """Face-unit offsets of the movable features (positive y is down)."""

    brow_inner: float = 0.0  # + lowers the inner brow ends
    brow_outer: float = 0.0
    brow_pinch: float = 0.0  # + pulls the brows toward the nose
    lid_upper: float = 1.0  # upper-lid opening factor
    lid_lower: float = 1.0  # lower-lid opening factor (cheek raise narrows it)
    mouth_corner: float = 0.01  # + pulls the corners down, - up (smile)
    mouth_width: float = 1.0
    mouth_open: float = 0.0  # lip gap in face units
    upper_teeth: float = 0.0  # 0..1 visibility
    lower_teeth: float = 0.0
    lip_press: float = 0.0  # 0..1 thins the lips
    cheek: float = 0.0  # raised cheeks (highlight, deeper folds)
    fold: float = 0.08  # nasolabial fold darkness
    frown_lines: float = 0.0  # vertical lines between the brows (anger)
    forehead_lines: float = 0.0  # horizontal centre-forehead lines (sadness, fear)
    nose_wrinkle: float = 0.0
    speech_gain: float = 1.0  # how far the jaw moves with the syllables


# Offsets from neutral at full strength (after FACS prototypes); ANG and HAP have two mouth variants.
FACE_PROFILES = {
    "ANG": dict(
        brow_inner=0.10,
        brow_outer=-0.01,
        brow_pinch=0.045,
        lid_upper=-0.35,
        lid_lower=-0.35,
        mouth_corner=0.025,
        frown_lines=1.0,
        fold=0.05,
        speech_gain=0.1,
    ),
    "HAP": dict(
        brow_inner=-0.025, brow_outer=-0.02, lid_lower=-0.4, mouth_corner=-0.11, mouth_width=0.16, cheek=1.0, fold=0.22
    ),
    "SAD": dict(
        brow_inner=-0.09,
        brow_outer=0.035,
        brow_pinch=0.02,
        lid_upper=-0.33,
        mouth_corner=0.075,
        mouth_width=-0.08,
        lip_press=0.15,
        forehead_lines=1.0,
        speech_gain=-0.4,
    ),
    "NEU": dict(),
    "DIS": dict(
        brow_inner=0.06,
        brow_pinch=0.02,
        lid_lower=-0.3,
        mouth_corner=0.045,
        mouth_width=-0.05,
        mouth_open=0.03,
        upper_teeth=0.6,
        nose_wrinkle=1.0,
        fold=0.15,
    ),
    "FEA": dict(
        brow_inner=-0.1,
        brow_outer=-0.06,
        brow_pinch=0.03,
        lid_upper=0.35,
        lid_lower=0.1,
        mouth_corner=0.02,
        mouth_width=0.12,
        mouth_open=0.1,
        lower_teeth=0.8,
        forehead_lines=0.8,
    ),
}
MOUTH_VARIANTS = {  # alternative mouths; each actor has a habitual one per emotion
    "ANG": (
        dict(lip_press=0.6, mouth_width=-0.06),
        dict(mouth_open=0.1, upper_teeth=1.0, lower_teeth=1.0, mouth_width=0.06),
    ),
    "HAP": (dict(), dict(mouth_open=0.11, upper_teeth=1.0)),
}

# Fields that cannot go below zero (amounts, not positions).
NON_NEGATIVE = (
    "mouth_open",
    "upper_teeth",
    "lower_teeth",
    "lip_press",
    "cheek",
    "fold",
    "frown_lines",
    "forehead_lines",
    "nose_wrinkle",
)
# Bounds of a few fields: MTCNN needs eyes that are open and a face that stays a face.
LIMITS = {
    "lid_upper": (0.55, 1.45),
    "lid_lower": (0.3, 1.5),
    "mouth_width": (0.7, 1.35),
    "mouth_open": (0.0, 0.2),
    "brow_inner": (-0.18, 0.25),
    "brow_outer": (-0.12, 0.15),
    "brow_pinch": (-0.05, 0.09),
}
CLIP_JITTER_SD = 0.009  # per-clip jitter of every field at noise 1 (lids: CLIP_LID_JITTER_SD)
CLIP_LID_JITTER_SD = 0.03
# FACE_PROFILES are drawn this many times as strong: a frozen ImageNet encoder looking at a 128 px face
# crop barely tells the plain prototypes apart. The fine marks of an expression (its creases and wrinkles,
# _crease) are drawn stronger than its shapes (how far brows, lids, cheeks and mouth move, the teeth): a
# 16 px thumbnail of the face sees the shapes, hardly the marks.
SHAPE_GAIN = 2.0
MARK_GAIN = 4.0
MARKS = ("fold", "frown_lines", "forehead_lines", "nose_wrinkle")
CREASE_WIDTH = 0.018  # face units: about a pixel of the frame
CREASE_DEPTH = 0.45  # the groove's shadow at a mark of 1


def _gain(field: str) -> float:
    return MARK_GAIN if field in MARKS else SHAPE_GAIN


def prototype_offsets(emotion: str, style: EmotionStyle) -> dict[str, float]:
    """The emotion's offsets from neutral at full strength, with the actor's habitual mouth for it."""
    offsets = {key: _gain(key) * value for key, value in FACE_PROFILES[emotion].items()}
    variants = MOUTH_VARIANTS.get(emotion, ())
    if variants:
        for key, value in variants[min(int(style.mouth_pick * len(variants)), len(variants) - 1)].items():
            offsets[key] = offsets.get(key, 0.0) + _gain(key) * value
    return offsets


def clip_expression(
    manner: Manner, shown: list[Shown], rng: np.random.Generator, noise: float, weights: tuple[float, ...] = (1.0,)
) -> list[Expression]:
    """Neutral + resting face + per emotion shown weight * (strength * prototype + habit * the actor's style)
    + jitter, one Expression per weight of `weights` (the same jitter in each: one clip, two moments).

    The style is weighted apart from the strength: an actor's habits show at a low intensity too, so a
    weak expression is harder to read for someone who does not know the actor.
    """
    neutral = Expression()
    base = {
        field: getattr(neutral, field) + manner.resting_face.get(field, 0.0) for field in neutral.__dataclass_fields__
    }
    emotional = dict.fromkeys(base, 0.0)
    for s in shown:
        for key, value in prototype_offsets(s.emotion, s.style).items():
            emotional[key] += s.strength * value
        for key, value in s.style.face.items():
            emotional[key] += s.habit * value
    jitter = {
        field: noise * (CLIP_LID_JITTER_SD if field in ("lid_upper", "lid_lower") else CLIP_JITTER_SD) * rng.normal()
        for field in base
    }
    expressions = []
    for weight in weights:
        values = {field: base[field] + weight * emotional[field] + jitter[field] for field in base}
        for field in NON_NEGATIVE:
            values[field] = max(0.0, values[field])
        for field, (low, high) in LIMITS.items():
            values[field] = min(max(values[field], low), high)
        expressions.append(Expression(**values))
    return expressions


@dataclass(frozen=True)
class Scene:
    cx: float  # head centre, pixels
    cy: float
    unit: float  # pixels per face unit
    angle: float  # head roll, radians
    light: tuple[float, float, float]  # unit vector toward the key light (x right, y down, z to camera)
    ambient: float  # share of the light that comes from everywhere: low is a hard, contrasty light
    gain: float  # exposure
    white: tuple[float, float, float]  # white balance: a factor per channel
    blur: float  # lens blur, pixels (sd)
    background: tuple[float, float, float]
    gradient: tuple[float, float]  # the backdrop's light falling off across x and y
    grain: float  # image noise sd (0..1 scale)
    gaze: tuple[float, float]
    turn: float = 0.0  # the head turned: the features shift this many face units sideways (the nose more)


# An actor's session (uniform ranges at noise 1, around their middles): camera distance (a factor on the
# face's size), framing offsets (pixels), the key light's side and height, and the backdrop.
SESSION_ZOOM = (0.95, 1.25)
SESSION_SHIFT_PX = (-30.0, 30.0)
SESSION_LIGHT_X = (-0.6, 0.6)
SESSION_LIGHT_Y = (-0.7, -0.1)
BACKDROPS = ((0.16, 0.58, 0.22), (0.2, 0.3, 0.55), (0.5, 0.5, 0.5), (0.55, 0.45, 0.35), (0.12, 0.12, 0.14))
# ... and each clip's take (sd at noise 1).
LIGHT_SD = 0.3
AMBIENT = (0.3, 0.6)
EXPOSURE_SD = 0.12
WHITE_SD = 0.06
BLUR_PX = (0.9, 1.7)
TURN_SD = 0.05
NOSE_TURN = 1.6  # the nose stands out of the face: it moves this many times as far when the head turns
MAX_BLUR_PX = BLUR_PX[1]
BLUR_TRUNCATE = 3.0  # the lens blur's kernel reaches this many sd (scipy's default 4 costs a third more)
# The camera's auto-exposure brightens dark faces part of the way towards a reference luma: without it
# MTCNN missed 4 of the 30 takes of the two darkest actors (1002, 1014) and 6 of the other 420.
EXPOSURE_REFERENCE_LUMA = 0.6
AUTO_EXPOSURE = 0.5  # 0: no correction, 1: every face at the reference luma
# A take varies less than a session: pose, framing and light drawn per clip at this share of `noise`, so that
# the variance lies between actors and a model that has seen an actor's other takes (the clip-level split)
# gains on one that has not (issue 17's leak target: +.119 and +.124 on seeds 0 and 1, bench/sample_stats.py).
TAKE_VARIATION = 0.6


def luma(rgb) -> float:
    """Rec. 601 luma of an RGB colour in [0, 1]."""
    return float(0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2])


def make_scene(
    actor: Actor,
    rng: np.random.Generator,
    noise: float,
    roll_deg: float = 0.0,
    gaze: tuple[float, float] = (0.0, 0.0),
    seed: int = 0,
) -> Scene:
    """Camera, pose and light of one clip: the actor's session (from `seed` and his id) and the take (from
    `rng`); `roll_deg` and `gaze` are the actor's personal pose for the emotion."""
    session = seeded(seed, SESSION_STREAM, actor.actor_id, 1)
    spread = min(noise, 1.0)

    def pick(generator: np.random.Generator, span: tuple[float, float]) -> float:
        middle = (span[0] + span[1]) / 2
        return float(middle + spread * (generator.uniform() - 0.5) * (span[1] - span[0]))

    zoom, shift_x, shift_y = (
        pick(session, SESSION_ZOOM),
        pick(session, SESSION_SHIFT_PX),
        pick(session, SESSION_SHIFT_PX),
    )
    light_x, light_y = pick(session, SESSION_LIGHT_X), pick(session, SESSION_LIGHT_Y)
    backdrop = np.array(BACKDROPS[int(session.integers(len(BACKDROPS)))]) if spread > 0 else np.array(BACKDROPS[0])
    take = TAKE_VARIATION * noise
    lx = float(np.clip(light_x + take * rng.normal(0, LIGHT_SD), -0.85, 0.85))
    ly = float(np.clip(light_y + take * rng.normal(0, LIGHT_SD / 2), -0.85, 0.2))
    light = np.array([lx, ly, 0.85])
    return Scene(
        cx=WIDTH / 2 - 8 + shift_x + float(np.clip(take * rng.normal(0, 10), -25, 25)),
        cy=HEIGHT * 0.39 + shift_y / 2 + float(np.clip(take * rng.normal(0, 6), -15, 15)),
        unit=actor.size_px * zoom * math.exp(take * rng.normal(0, 0.05)),
        # MTCNN misses more faces rolled beyond 8 degrees, dark ones first
        angle=math.radians(float(np.clip(roll_deg + take * rng.normal(0, 4.0), -MAX_ROLL_DEG, MAX_ROLL_DEG))),
        light=tuple(float(v) for v in light / np.linalg.norm(light)),
        ambient=pick(rng, AMBIENT),
        gain=float(np.clip(math.exp(take * rng.normal(0, EXPOSURE_SD)), 0.75, 1.35))
        * (EXPOSURE_REFERENCE_LUMA / luma(actor.skin)) ** AUTO_EXPOSURE,
        white=tuple(float(v) for v in np.exp(take * rng.normal(0, WHITE_SD, 3))),
        blur=pick(rng, BLUR_PX),
        background=as_rgb(backdrop + take * rng.normal(0, 0.04, 3)),
        gradient=(float(rng.uniform(-0.25, 0.25)), float(rng.uniform(-0.25, 0.25))),
        grain=0.006 + take * rng.uniform(0.0, 0.012),
        gaze=(
            float(np.clip(gaze[0] + take * rng.normal(0, 0.02), -0.12, 0.12)),
            float(np.clip(gaze[1] + take * rng.normal(0, 0.01), -0.06, 0.06)),
        ),
        turn=float(np.clip(take * rng.normal(0, TURN_SD), -0.12, 0.12)),
    )


@dataclass
class Region:
    """A pixel window of the canvas with the face coordinates of its pixels."""

    sl: tuple[slice, slice]
    x: np.ndarray
    y: np.ndarray


class Canvas:
    """A float RGB image plus the pixel <-> face-unit transform of the current head pose."""

    def __init__(self, img: np.ndarray, scene: Scene):
        self.img = img
        self.cx, self.cy, self.unit = scene.cx, scene.cy, scene.unit
        self.cos, self.sin = math.cos(scene.angle), math.sin(scene.angle)

    @contextmanager
    def turned(self, shift: float):
        """Draw with the face's features `shift` face units to the side (a head turned a little: the
        features move against the head's outline)."""
        dx, dy = self.unit * shift * self.cos, self.unit * shift * self.sin
        self.cx, self.cy = self.cx + dx, self.cy + dy
        try:
            yield self
        finally:
            self.cx, self.cy = self.cx - dx, self.cy - dy

    def region(self, x0: float, x1: float, y0: float, y1: float) -> Region | None:
        """Pixels covering the face-unit box [x0, x1] x [y0, y1] (rotation-aware)."""
        fx = np.array([x0, x0, x1, x1])
        fy = np.array([y0, y1, y0, y1])
        px = self.cx + self.unit * (fx * self.cos - fy * self.sin)
        py = self.cy + self.unit * (fx * self.sin + fy * self.cos)
        h, w = self.img.shape[:2]
        c0, c1 = max(0, int(px.min()) - 1), min(w, int(px.max()) + 2)
        r0, r1 = max(0, int(py.min()) - 1), min(h, int(py.max()) + 2)
        if c0 >= c1 or r0 >= r1:
            return None
        dy, dx = np.mgrid[r0:r1, c0:c1].astype(np.float32)
        dx -= self.cx
        dy -= self.cy
        x = (dx * self.cos + dy * self.sin) / self.unit
        y = (dy * self.cos - dx * self.sin) / self.unit
        return Region((slice(r0, r1), slice(c0, c1)), x, y)

    def coverage(self, signed_distance: np.ndarray, soft_px: float = 1.0) -> np.ndarray:
        """Anti-aliased alpha from a signed distance in face units (negative inside)."""
        return np.clip(0.5 - signed_distance * (self.unit / soft_px), 0.0, 1.0)

    def paint(self, reg: Region, alpha: np.ndarray, colour) -> None:
        view = self.img[reg.sl]
        colour = np.asarray(colour, dtype=np.float32)
        view += (colour - view) * alpha[..., None]

    def darken(self, reg: Region, amount: np.ndarray, tint=(1.0, 1.0, 1.0)) -> None:
        """Multiply by (1 - amount * tint): shadows, creases, blush."""
        self.img[reg.sl] *= 1.0 - amount[..., None] * np.asarray(tint, dtype=np.float32)


def _blob(reg: Region, x: float, y: float, rx: float, ry: float) -> np.ndarray:
    """Gaussian bump of radii (rx, ry) in face units."""
    return np.exp(-0.5 * (((reg.x - x) / rx) ** 2 + ((reg.y - y) / ry) ** 2))


def _crease(distance: np.ndarray, width: float) -> np.ndarray:
    """A crease's shading across it at `distance` (face units) from its line: the groove's shadow (1 at the
    line) between the highlights of its two lips (negative), summing to nothing (a Ricker profile). Real
    wrinkles are shadow and highlight side by side: a box-averaged thumbnail sees almost nothing of them,
    an edge detector sees them well."""
    q = (distance / width) ** 2
    return (1.0 - q) * np.exp(-0.5 * q)


def _ellipse_sd(reg: Region, x: float, y: float, rx: float, ry: float) -> np.ndarray:
    return (np.sqrt(((reg.x - x) / rx) ** 2 + ((reg.y - y) / ry) ** 2) - 1.0) * min(rx, ry)


@dataclass(frozen=True)
class FaceLayout:
    """Where the features sit, in face units, for one actor."""

    head_h: float
    eye_y: float
    brow_y: float
    nose_y: float  # bottom of the nose
    mouth_y: float
    chin_y: float


def face_layout(actor: Actor) -> FaceLayout:
    h = actor.head_aspect
    eye_y = -0.02 * h + actor.eye_level
    chin_y = h
    nose_y = eye_y + actor.nose_share * (chin_y - eye_y)
    return FaceLayout(
        head_h=h,
        eye_y=eye_y,
        brow_y=eye_y - actor.brow_gap,
        nose_y=nose_y,
        mouth_y=nose_y + actor.mouth_share * (chin_y - nose_y),
        chin_y=chin_y,
    )


def _lambert(nx: np.ndarray, ny: np.ndarray, light) -> np.ndarray:
    """Diffuse shading of a pseudo-3D surface with normal (nx, ny, nz)."""
    nz = np.sqrt(np.clip(1.0 - nx * nx - ny * ny, 0.0, 1.0)) ** 0.7  # flatter than a sphere
    lx, ly, lz = light
    return np.clip(nx * lx + ny * ly + nz * lz, 0.0, 1.0)


def _skin_shade(skin, shade: np.ndarray, scene: Scene) -> np.ndarray:
    """Skin colour under the scene's ambient and key light; shadows go warmer (subsurface scattering look)."""
    s = shade[..., None]
    colour = np.asarray(skin, dtype=np.float32)
    warm = np.array([1.0, 0.86, 0.8], dtype=np.float32)
    ambient = np.float32(scene.ambient)
    return colour * (ambient + (np.float32(1.1) - ambient) * s) * (warm + (1 - warm) * s)


def draw_background(canvas: Canvas, scene: Scene) -> None:
    """Studio backdrop: the scene's colour under its linear light gradient and a vignette."""
    h, w = canvas.img.shape[:2]
    x = (np.arange(w, dtype=np.float32) / w - 0.5)[None, :]
    y = (np.arange(h, dtype=np.float32) / h - 0.5)[:, None]
    gx, gy = scene.gradient  # Python floats keep the arrays float32
    light = (1.0 + gx * x + gy * y) * (1.0 - 0.25 * (x * x + y * y))
    canvas.img[:] = np.asarray(scene.background, np.float32) * light[..., None]


def draw_torso(canvas: Canvas, actor: Actor, lay: FaceLayout, scene: Scene) -> None:
    """Shirt: gently sloping shoulders from the neck, rounded off toward the frame edges."""
    top = lay.chin_y + 0.42
    reg = canvas.region(-5.0, 5.0, top - 0.1, top + 6.0)
    if reg is None:
        return
    ax = np.abs(reg.x)
    edge = top + 0.13 * np.clip(ax - 0.3, 0, None) ** 1.5 + 1.5 * np.clip(ax - 2.8, 0, None) ** 2
    alpha = canvas.coverage(edge - reg.y, soft_px=1.5)
    shade = 0.5 + 0.5 * _lambert(np.clip(reg.x / 3.8, -1, 1), np.full_like(reg.x, -0.25), scene.light)
    folds = 1.0 + 0.04 * np.sin(reg.x * 3.0 + 2.0 * np.sin(reg.y * 1.7))
    canvas.paint(reg, alpha, np.asarray(actor.shirt, np.float32) * (shade * folds)[..., None])
    collar = _ellipse_sd(reg, 0, top + 0.02, 0.6, 0.32)
    canvas.darken(reg, 0.3 * np.exp(-0.5 * (collar / 0.05) ** 2) * alpha)


def draw_neck(canvas: Canvas, actor: Actor, lay: FaceLayout, scene: Scene) -> None:
    top, bottom = lay.chin_y - 0.6, lay.chin_y + 0.42
    half = 0.44 + 0.08 * (1 - actor.female)
    reg = canvas.region(-half - 0.1, half + 0.1, top, bottom + 0.4)
    sd = np.maximum(np.abs(reg.x) - half, reg.y - bottom - 0.25 * np.sqrt(np.clip(1 - (reg.x / half) ** 2, 0, 1)))
    alpha = canvas.coverage(sd, soft_px=1.2)
    shade = 0.5 * _lambert(reg.x / (half * 1.3), np.zeros_like(reg.x), scene.light)
    shade *= 1.0 - 0.45 * np.exp(-(((reg.y - lay.chin_y) / 0.25) ** 2))  # shadow under the jaw
    canvas.paint(reg, alpha, _skin_shade(actor.skin, shade, scene))


def draw_ears(canvas: Canvas, actor: Actor, lay: FaceLayout, scene: Scene) -> None:
    for side in (-1, 1):
        x, y = side * 0.98, lay.eye_y + 0.18
        reg = canvas.region(x - 0.2, x + 0.2, y - 0.32, y + 0.32)
        alpha = canvas.coverage(_ellipse_sd(reg, x, y, 0.13, 0.27))
        shade = 0.55 * _lambert(np.full_like(reg.x, side * 0.7), (reg.y - y) / 0.5, scene.light)
        canvas.paint(reg, alpha, _skin_shade(actor.skin, shade, scene))
        canvas.darken(reg, 0.25 * _blob(reg, x - side * 0.02, y, 0.05, 0.13) * alpha)


def _head_shape(reg: Region, actor: Actor, lay: FaceLayout) -> tuple[np.ndarray, np.ndarray]:
    """Signed distance of the head outline and its local half-width (narrowing toward the chin)."""
    below = np.clip(reg.y / lay.head_h, 0, 1)
    half_width = 1.0 - (1.0 - actor.jaw) * below**1.6
    q = np.sqrt((reg.x / half_width) ** 2 + (reg.y / lay.head_h) ** 2)
    return (q - 1.0) * half_width, half_width


def draw_head(canvas: Canvas, actor: Actor, lay: FaceLayout, scene: Scene) -> None:
    reg = canvas.region(-1.1, 1.1, -lay.head_h - 0.1, lay.head_h + 0.1)
    sd, half_width = _head_shape(reg, actor, lay)
    alpha = canvas.coverage(sd, soft_px=1.2)
    nx, ny = reg.x / half_width * 0.95, reg.y / lay.head_h * 0.9
    colour = _skin_shade(actor.skin, _lambert(nx, ny, scene.light), scene)
    # a soft specular sheen (forehead, cheekbones): skin looks lit, not painted
    half_vector = np.array(scene.light) + np.array([0.0, 0.0, 1.0])
    sheen = _lambert(nx, ny, tuple(half_vector / np.linalg.norm(half_vector))) ** 12
    canvas.paint(reg, alpha, colour + 0.09 * sheen[..., None])


def draw_back_hair(canvas: Canvas, actor: Actor, lay: FaceLayout, scene: Scene) -> None:
    if actor.hair_style != "long":
        return
    length = lay.chin_y + 0.9
    reg = canvas.region(-1.45, 1.45, -lay.head_h - 0.3, length + 0.2)
    top = _ellipse_sd(reg, 0, 0, 1.22, lay.head_h * 1.1)
    bottom = length - 0.35 * (reg.x / 1.2) ** 2  # ends rounded, longer at the back
    sides = np.maximum(np.abs(reg.x) - 1.22 + 0.25 * np.clip(reg.y / length, 0, 1), reg.y - bottom)
    sd = np.where(reg.y < 0, top, sides)
    alpha = canvas.coverage(sd, soft_px=2.0)
    canvas.paint(reg, alpha, _hair_colour(reg, actor, scene, 0.75))


def _hair_colour(reg: Region, actor: Actor, scene: Scene, light: float) -> np.ndarray:
    streaks = 1.0 + 0.12 * np.sin(reg.x * 55 + 3 * np.sin(reg.y * 6)) * np.sin(reg.y * 9 + reg.x * 4)
    shade = light * (0.75 + 0.4 * _lambert(np.clip(reg.x / 1.2, -1, 1), np.clip(reg.y / 1.6, -1, 1), scene.light))
    return np.asarray(actor.hair_colour, np.float32) * (shade * streaks)[..., None]


def draw_front_hair(canvas: Canvas, actor: Actor, lay: FaceLayout, scene: Scene) -> None:
    h = lay.head_h
    volume = 0.1 if actor.hair_style != "receding" else 0.04
    reg = canvas.region(-1.25, 1.25, -h - 0.25, 0.2)
    cap = _ellipse_sd(reg, 0, 0.02, 1.0 + volume, h + volume)
    hairline0 = {"short": -0.6 * h, "long": -0.62 * h, "receding": -0.85 * h}[actor.hair_style]
    sideburn = {"short": lay.eye_y + 0.05, "long": lay.eye_y - 0.05, "receding": lay.eye_y + 0.0}[actor.hair_style]
    ax = np.abs(reg.x)
    temple = np.clip((ax - 0.72) / 0.2, 0, 1)
    line = hairline0 + 0.35 * reg.x**2
    line = line + (sideburn - line) * temple * temple * (3 - 2 * temple)  # smoothstep to the sideburn
    sd = np.maximum(cap, reg.y - line)
    alpha = canvas.coverage(sd, soft_px=1.6)
    if actor.hair_style == "receding":
        alpha *= 0.85
    canvas.paint(reg, alpha, _hair_colour(reg, actor, scene, 1.0))
    # the hair casts a soft shadow on the forehead just below the hairline
    canvas.darken(reg, 0.15 * np.clip(1 - alpha, 0, 1) * np.exp(-(((reg.y - line) / 0.08) ** 2)) * (cap < 0))


def draw_eye_area(canvas: Canvas, actor: Actor, lay: FaceLayout, expr: Expression, scene: Scene, side: int) -> None:
    """Socket shadow, eyeball, iris, lids and lashes of one eye (side -1 left, +1 right in image)."""
    ex, ey = side * actor.eye_gap, lay.eye_y
    w, h = actor.eye_w, actor.eye_h
    reg = canvas.region(ex - w - 0.2, ex + w + 0.2, ey - 0.3, ey + 0.25)
    # socket: shadow under the brow ridge, deeper toward the nose
    canvas.darken(reg, 0.14 * _blob(reg, ex - side * 0.04, ey - 0.05, 0.26, 0.12), tint=(0.9, 1.0, 1.05))
    canvas.darken(reg, 0.10 * _blob(reg, ex - side * 0.03, ey + 0.13 - 0.03 * expr.cheek, 0.18, 0.05))
    u = (reg.x - ex) / w
    base = np.clip(1.0 - u * u, 0.0, 1.0)
    # inner part of the upper lid drops when the brows are lowered (anger)
    inward = np.clip(-side * u, 0, 1)
    upper_open = max(expr.lid_upper, 0.15) - min(3.0 * max(expr.brow_inner, 0.0), 0.4) * inward
    upper = ey - h * upper_open * base**0.75 - 0.015 * side * u
    lower = ey + 0.6 * h * max(expr.lid_lower, 0.25) * base**0.9
    sd = np.maximum(np.maximum(upper - reg.y, reg.y - lower), (np.abs(u) - 1.0) * w)
    opening = canvas.coverage(sd, soft_px=0.8)
    _draw_eyeball(canvas, reg, opening, upper, ex, ey, scene, actor)
    # upper lid margin and lashes: darkest toward the outer corner
    lid = np.exp(-0.5 * ((reg.y - upper + 0.006) / 0.016) ** 2) * np.clip(1.15 - np.abs(u), 0, 1) ** 0.5
    canvas.darken(reg, np.clip(0.75 * lid * (0.7 + 0.3 * np.clip(side * u, 0, 1)), 0, 0.85))
    canvas.darken(reg, 0.25 * np.exp(-0.5 * ((reg.y - lower - 0.004) / 0.012) ** 2) * np.clip(1 - np.abs(u), 0, 1))
    # lid crease above the eye
    crease = upper - 0.05 - 0.03 * max(expr.lid_upper, 0.3)
    canvas.darken(reg, 0.16 * np.exp(-0.5 * ((reg.y - crease) / 0.014) ** 2) * np.clip(1 - np.abs(u) * 0.9, 0, 1))
    if expr.cheek > 0.05:  # crow's feet: fine lines fanning out from the outer corner as the cheeks rise
        dx, dy = side * (reg.x - ex) - w, reg.y - ey
        reach = np.clip(dx / 0.14, 0, 1) * np.clip(1 - dx / 0.16, 0, 1)
        lines = sum(_crease(dy - slope * dx, CREASE_WIDTH) for slope in (-0.6, 0.0, 0.6))
        canvas.darken(reg, CREASE_DEPTH * min(expr.cheek, 1.5) * lines * reach)


def _draw_eyeball(
    canvas: Canvas,
    reg: Region,
    opening: np.ndarray,
    upper: np.ndarray,
    ex: float,
    ey: float,
    scene: Scene,
    actor: Actor,
) -> None:
    # sclera, shadowed by the upper lid
    lid_shadow = np.clip((reg.y - upper) / 0.07, 0.0, 1.0)
    sclera = np.array([0.86, 0.84, 0.8], np.float32) * (0.62 + 0.38 * lid_shadow)[..., None]
    canvas.paint(reg, opening, sclera)
    ix, iy = ex + scene.gaze[0], ey + 0.01 + scene.gaze[1]
    r = np.sqrt((reg.x - ix) ** 2 + (reg.y - iy) ** 2)
    iris_alpha = canvas.coverage(r - 0.09, soft_px=0.8) * opening
    iris = np.asarray(actor.iris, np.float32) * (1.1 - 0.6 * np.clip(r / 0.09, 0, 1) ** 3)[..., None]
    canvas.paint(reg, iris_alpha, iris * (0.55 + 0.45 * lid_shadow)[..., None])
    canvas.paint(reg, canvas.coverage(r - 0.04, soft_px=0.8) * opening, (0.03, 0.02, 0.02))
    glint = canvas.coverage(np.sqrt((reg.x - ix + 0.03) ** 2 + (reg.y - iy + 0.03) ** 2) - 0.018, soft_px=0.8)
    canvas.paint(reg, glint * opening * 0.9, (0.97, 0.97, 0.95))


def draw_brows(canvas: Canvas, actor: Actor, lay: FaceLayout, expr: Expression) -> None:
    # brows stay darker than the skin even under blond or grey hair
    colour = np.minimum(
        np.asarray(actor.hair_colour, np.float32) * 0.6 + 0.04, np.asarray(actor.skin, np.float32) * 0.45
    )
    for side in (-1, 1):
        x_in = side * (0.11 - expr.brow_pinch)
        x_out = side * (actor.eye_gap + 0.27)
        y_in = lay.brow_y + expr.brow_inner
        y_out = lay.brow_y - 0.02 + expr.brow_outer
        reg = canvas.region(min(x_in, x_out) - 0.05, max(x_in, x_out) + 0.05, lay.brow_y - 0.25, lay.brow_y + 0.2)
        t = (reg.x - x_in) / (x_out - x_in)
        arch = 0.07 * np.sin(np.pi * np.clip(t, 0, 1) ** 0.8) * (1 - 2.5 * max(expr.brow_inner, 0))
        centre = y_in + (y_out - y_in) * t - arch
        thickness = 0.075 * (1 - t) + 0.032 * t
        length = abs(x_out - x_in)
        sd = np.maximum(np.abs(reg.y - centre) - thickness / 2, np.maximum(-t, t - 1) * length)
        alpha = canvas.coverage(sd, soft_px=1.3) * 0.9
        canvas.paint(reg, alpha, colour)
    _draw_forehead_lines(canvas, lay, expr)


def _draw_forehead_lines(canvas: Canvas, lay: FaceLayout, expr: Expression) -> None:
    reg = canvas.region(-0.4, 0.4, lay.brow_y - 0.4, lay.brow_y + 0.15)
    if expr.frown_lines > 0:  # vertical furrows between lowered, pinched brows
        furrow = sum(_crease(reg.x - s * 0.05, CREASE_WIDTH) for s in (-1, 1))
        span = np.exp(-0.5 * ((reg.y - lay.brow_y - 0.02) / 0.06) ** 2)
        canvas.darken(reg, CREASE_DEPTH * min(expr.frown_lines, 1.5) * furrow * span)
    if expr.forehead_lines > 0:  # horizontal lines over the raised inner brows
        lines = sum(_crease(reg.y - (lay.brow_y - 0.16 - 0.08 * k) + 0.1 * reg.x**2, CREASE_WIDTH) for k in range(2))
        canvas.darken(reg, CREASE_DEPTH * min(expr.forehead_lines, 1.5) * lines * np.exp(-0.5 * (reg.x / 0.2) ** 2))


def draw_nose(canvas: Canvas, actor: Actor, lay: FaceLayout, expr: Expression, scene: Scene) -> None:
    nw, ny = actor.nose_w, lay.nose_y
    reg = canvas.region(-nw - 0.15, nw + 0.15, lay.eye_y - 0.05, ny + 0.12)
    lx = scene.light[0]
    # bridge: shadowed flanks, the one away from the light darker
    along = np.clip((reg.y - lay.eye_y) / (ny - lay.eye_y), 0, 1)
    for side in (-1, 1):
        flank = (
            np.exp(-0.5 * ((reg.x - side * (0.06 + 0.05 * along)) / 0.035) ** 2)
            * np.clip(np.sin(np.pi * along), 0, 1) ** 0.5
        )
        canvas.darken(reg, (0.16 + 0.2 * max(0.0, -side * lx)) * flank * (along < 0.95))
    canvas.darken(reg, -0.08 * _blob(reg, 0, ny - 0.3, 0.04, 0.15))  # bridge highlight
    canvas.darken(reg, -0.12 * _blob(reg, 0.01, ny - 0.08, 0.07, 0.05))  # tip highlight
    for side in (-1, 1):
        ala = _ellipse_sd(reg, side * nw * 0.85, ny - 0.04, 0.075, 0.06)
        canvas.darken(reg, 0.25 * np.exp(-0.5 * (ala / 0.018) ** 2) * (reg.y > ny - 0.07))
        nostril = canvas.coverage(_ellipse_sd(reg, side * nw * 0.45, ny - 0.005, 0.05, 0.025), soft_px=1.0)
        canvas.darken(reg, 0.7 * nostril, tint=(1.0, 1.05, 1.05))
    canvas.darken(reg, 0.3 * _blob(reg, 0, ny + 0.05, 0.16, 0.035))  # shadow under the nose
    if expr.nose_wrinkle > 0:
        wrinkles = sum(_crease(reg.y - (lay.eye_y + 0.1 + 0.05 * k), CREASE_WIDTH) for k in range(3))
        canvas.darken(reg, CREASE_DEPTH * min(expr.nose_wrinkle, 1.5) * wrinkles * np.exp(-0.5 * (reg.x / 0.08) ** 2))


def draw_cheeks(canvas: Canvas, actor: Actor, lay: FaceLayout, expr: Expression, mouth_w: float) -> None:
    reg = canvas.region(-0.95, 0.95, lay.eye_y, lay.mouth_y + 0.3)
    for side in (-1, 1):
        raise_y = lay.nose_y - 0.22 - 0.07 * expr.cheek
        cheek = _blob(reg, side * 0.48, raise_y, 0.2, 0.14)
        canvas.darken(reg, -(0.03 + 0.07 * expr.cheek) * cheek, tint=(1.0, 0.7, 0.7))
        # nasolabial fold from the nose wing to just outside the mouth corner
        x0, y0 = side * (actor.nose_w + 0.06), lay.nose_y - 0.04
        x1, y1 = side * (mouth_w + 0.07), lay.mouth_y + expr.mouth_corner + 0.07
        t = np.clip((reg.y - y0) / (y1 - y0), 0, 1)
        xc = x0 + (x1 - x0) * t + side * (0.06 + 0.04 * expr.cheek) * np.sin(np.pi * t)
        fold = _crease(reg.x - xc, CREASE_WIDTH) * np.clip(np.sin(np.pi * t), 0, 1) ** 0.6
        canvas.darken(reg, 2.0 * CREASE_DEPTH * min(expr.fold, 0.6) * fold * (reg.y > y0) * (reg.y < y1))


def mouth_box(actor: Actor, lay: FaceLayout) -> tuple[float, float, float, float]:
    """Face-unit box that contains the mouth in every expression and opening."""
    half = actor.mouth_w * 1.35 + 0.06
    return (-half, half, lay.mouth_y - 0.25, lay.mouth_y + 0.45)


def draw_mouth(canvas: Canvas, actor: Actor, lay: FaceLayout, expr: Expression, opening: float) -> None:
    """Lips, gap, teeth and corner shadows; `opening` is the lip gap in face units."""
    mw = actor.mouth_w * max(expr.mouth_width, 0.6)
    reg = canvas.region(*mouth_box(actor, lay))
    s = reg.x / mw
    body = np.clip(1.0 - s * s, 0.0, 1.0)
    line = lay.mouth_y + expr.mouth_corner * s * s  # where the lips meet
    gap_top = line - 0.35 * opening * body**0.8
    gap_bottom = line + 0.65 * opening * body**0.8
    press = 1.0 - 0.7 * min(expr.lip_press, 1.0)
    cupid = 0.02 * np.exp(-((s / 0.12) ** 2))
    upper_edge = gap_top - (actor.lip_upper * press * body**0.5 - cupid)
    lower_edge = gap_bottom + actor.lip_lower * press * body**0.55
    width_sd = (np.abs(s) - 1.0) * mw
    lips = canvas.coverage(np.maximum(np.maximum(upper_edge - reg.y, reg.y - lower_edge), width_sd), soft_px=1.1)
    lip = np.asarray(actor.lip_colour, np.float32)
    lip_shade = np.where(
        reg.y < line, 0.8, 1.0 + 0.25 * np.exp(-(((reg.y - (gap_bottom + lower_edge) / 2) / 0.03) ** 2))
    )
    canvas.paint(reg, lips * 0.9, lip * lip_shade[..., None])
    if opening > 0.005:
        _draw_mouth_cavity(canvas, reg, s, gap_top, gap_bottom, width_sd, expr)
    # the dark line where the lips meet, deepest at the corners
    seam = np.exp(-0.5 * ((reg.y - line) / 0.012) ** 2) * np.clip(1.05 - np.abs(s), 0, 1) ** 0.3
    canvas.darken(reg, 0.5 * seam * (opening < 0.02))
    for side in (-1, 1):
        canvas.darken(reg, 0.3 * _blob(reg, side * mw * 1.02, lay.mouth_y + expr.mouth_corner, 0.025, 0.02))
    canvas.darken(
        reg, 0.18 * np.exp(-0.5 * ((reg.y - lower_edge - 0.04) / 0.025) ** 2) * np.clip(1 - np.abs(s) * 1.1, 0, 1)
    )


def _draw_mouth_cavity(
    canvas: Canvas,
    reg: Region,
    s: np.ndarray,
    gap_top: np.ndarray,
    gap_bottom: np.ndarray,
    width_sd: np.ndarray,
    expr: Expression,
) -> None:
    gap = canvas.coverage(np.maximum(np.maximum(gap_top - reg.y, reg.y - gap_bottom), width_sd + 0.02), soft_px=0.9)
    canvas.paint(reg, gap, (0.16, 0.05, 0.05))
    across = np.clip(1 - np.abs(s) / 0.78, 0, 1) ** 0.3
    teeth = np.array([0.9, 0.87, 0.8], np.float32)
    if expr.upper_teeth > 0:
        sd = np.maximum(gap_top - reg.y, reg.y - (gap_top + 0.055))
        canvas.paint(reg, gap * canvas.coverage(sd, 0.9) * across * min(expr.upper_teeth, 1.0), teeth)
    if expr.lower_teeth > 0:
        sd = np.maximum(gap_bottom - 0.04 - reg.y, reg.y - gap_bottom)
        canvas.paint(reg, gap * canvas.coverage(sd, 0.9) * across * min(expr.lower_teeth, 1.0), teeth * 0.85)


def draw_chin(canvas: Canvas, lay: FaceLayout) -> None:
    reg = canvas.region(-0.4, 0.4, lay.chin_y - 0.4, lay.chin_y)
    canvas.darken(reg, -0.05 * _blob(reg, 0, lay.chin_y - 0.18, 0.18, 0.1))


def draw_person(canvas: Canvas, actor: Actor, lay: FaceLayout, scene: Scene) -> None:
    """Backdrop, shoulders, neck, ears and head: what no expression changes."""
    draw_background(canvas, scene)
    draw_torso(canvas, actor, lay, scene)
    draw_back_hair(canvas, actor, lay, scene)
    draw_neck(canvas, actor, lay, scene)
    if actor.hair_style != "long":
        draw_ears(canvas, actor, lay, scene)
    draw_head(canvas, actor, lay, scene)


def draw_features(canvas: Canvas, actor: Actor, lay: FaceLayout, expr: Expression, scene: Scene) -> None:
    """Cheeks, eyes, brows and nose in `expr`, then the chin and the hair over the forehead (not the mouth)."""
    with canvas.turned(scene.turn):
        draw_cheeks(canvas, actor, lay, expr, actor.mouth_w * expr.mouth_width)
        for side in (-1, 1):
            draw_eye_area(canvas, actor, lay, expr, scene, side)
        draw_brows(canvas, actor, lay, expr)
    with canvas.turned(NOSE_TURN * scene.turn):
        draw_nose(canvas, actor, lay, expr, scene)
    with canvas.turned(scene.turn):
        draw_chin(canvas, lay)
    draw_front_hair(canvas, actor, lay, scene)


def feature_window(canvas: Canvas, lay: FaceLayout, margin: int) -> tuple[slice, slice]:
    """Pixels that an expression can change (draw_features and the mouth), with `margin` more on each side."""
    reg = canvas.region(-1.3, 1.3, -lay.head_h - 0.3, lay.chin_y + 0.1)
    rows, cols = reg.sl
    h, w = canvas.img.shape[:2]
    return (
        slice(max(rows.start - margin, 0), min(rows.stop + margin, h)),
        slice(max(cols.start - margin, 0), min(cols.stop + margin, w)),
    )


def _inside(outer: tuple[slice, slice], box: tuple[slice, slice]) -> tuple[slice, slice]:
    """`box` in the coordinates of the window `outer`."""
    return tuple(slice(b.start - o.start, b.stop - o.start) for o, b in zip(outer, box))


def render_moments(
    actor: Actor, rest: Expression, apex: Expression, scene: Scene, rng: np.random.Generator
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The face at rest and at the apex, each as MOUTH_LEVELS uint8 RGB frames (one per jaw opening); the two
    differ only where an expression reaches, so a video frame can show them blended.

    The person is drawn once; each moment redraws only the features' window over it, and is blurred and
    finished there (the apex) or everywhere (the rest); each opening redraws and reblurs only the mouth."""
    # sensor grain: uniform noise of sd scene.grain (a normal draw of a whole frame costs 4x as much); the
    # same in both moments, so a blend keeps it
    grain = (rng.random((HEIGHT, WIDTH, 3), dtype=np.float32) - np.float32(0.5)) * np.float32(
        scene.grain * math.sqrt(12.0)
    )
    canvas = Canvas(np.zeros((HEIGHT, WIDTH, 3), np.float32), scene)
    lay = face_layout(actor)
    draw_person(canvas, actor, lay, scene)
    margin = int(BLUR_TRUNCATE * MAX_BLUR_PX + 0.5) + 1  # wide enough for the blur kernel
    window = feature_window(canvas, lay, margin)  # where the moments differ
    outer = feature_window(canvas, lay, 2 * margin)  # what the window's blur reads
    person = canvas.img[outer].copy()
    with canvas.turned(scene.turn):
        mouth = canvas.region(*mouth_box(actor, lay)).sl
    mouth_outer = tuple(slice(max(m.start - margin, 0), m.stop + margin) for m in mouth)
    sigma = (scene.blur, scene.blur, 0)
    moments: list[list[np.ndarray]] = []
    for expr in (rest, apex):
        canvas.img[outer] = person
        draw_features(canvas, actor, lay, expr, scene)
        if not moments:  # the rest: the whole frame
            face = _finish(gaussian_filter(canvas.img, sigma=sigma, truncate=BLUR_TRUNCATE), scene, grain)
        else:  # the apex: its window over the rest's frame
            face = moments[0][0].copy()
            face[window] = _finish(
                gaussian_filter(canvas.img[outer], sigma=sigma, truncate=BLUR_TRUNCATE)[_inside(outer, window)],
                scene,
                grain[window],
            )
        clean = canvas.img[mouth_outer].copy()
        frames = []
        for opening in mouth_openings(expr):
            canvas.img[mouth_outer] = clean
            with canvas.turned(scene.turn):
                draw_mouth(canvas, actor, lay, expr, opening)
            frame = face.copy()
            blurred = gaussian_filter(canvas.img[mouth_outer], sigma=sigma, truncate=BLUR_TRUNCATE)[
                _inside(mouth_outer, mouth)
            ]
            frame[mouth] = _finish(blurred, scene, grain[mouth])
            frames.append(frame)
        moments.append(frames)
    return moments[0], moments[1]


def _finish(image: np.ndarray, scene: Scene, grain: np.ndarray) -> np.ndarray:
    """Exposure, white balance and sensor grain, then 8-bit."""
    exposure = np.float32(255.0 * scene.gain) * np.asarray(scene.white, np.float32)
    scaled = image * exposure
    scaled += grain * np.float32(255.0)
    scaled += np.float32(0.5)
    return np.clip(scaled, 0.0, 255.0, out=scaled).astype(np.uint8)


def mouth_openings(expr: Expression) -> list[float]:
    """The MOUTH_LEVELS lip gaps of a clip, from the expression's own opening to a loud syllable's."""
    speech = SPEECH_OPENING * max(expr.speech_gain, 0.2)
    return [expr.mouth_open + speech * i / (MOUTH_LEVELS - 1) for i in range(MOUTH_LEVELS)]
