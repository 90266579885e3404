"""What each simulated person looks like: body, skin, hair, clothes, accessories, look-alikes.

Colours are BGR uint8 triples (OpenCV order). A share of people are *look-alikes*: members of a
group wear the same uniform (top colour and pattern, trousers, vest, headwear, gloves) and differ
only in details (hair, shoes, a small chest print, build), as co-workers in a warehouse do.

Example::

    people = sample_appearances(PeopleConfig(count=12), "warehouse", np.random.default_rng(0))
    people[0].top_bgr, people[0].lookalike_group    # (B, G, R), 0 = unique
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np

from mtmc.synth.config import PeopleConfig

__all__ = ["Appearance", "sample_appearances"]

BGR = tuple[int, int, int]


def _bgr(rgb_hex: str) -> BGR:
    v = int(rgb_hex, 16)
    return (v & 255, (v >> 8) & 255, v >> 16)


SKIN = [_bgr(h) for h in ("f1c8a8", "e3b08e", "d09a72", "b57d55", "936040", "6e4630", "54362a")]
HAIR = {
    "black": _bgr("1c1816"),
    "dark brown": _bgr("3c281c"),
    "brown": _bgr("66462c"),
    "light brown": _bgr("987048"),
    "blonde": _bgr("c8aa70"),
    "red": _bgr("8c3c1e"),
    "grey": _bgr("969696"),
    "white": _bgr("cfcfcf"),
}
HAIR_STYLES = ("short", "short", "short", "long", "ponytail", "bun", "bald", "buzz")
TOPS = {
    "navy": _bgr("1e2a50"),
    "black": _bgr("1e1e22"),
    "charcoal": _bgr("404348"),
    "grey": _bgr("8a8c90"),
    "light grey": _bgr("b8b8b8"),
    "white": _bgr("e2e2e2"),
    "royal blue": _bgr("2a52aa"),
    "sky blue": _bgr("7aaad8"),
    "red": _bgr("aa2024"),
    "maroon": _bgr("6e1e28"),
    "dark green": _bgr("1e502c"),
    "olive": _bgr("646e3c"),
    "orange": _bgr("e07820"),
    "mustard": _bgr("d0a830"),
    "beige": _bgr("c8b48c"),
    "brown": _bgr("6e4b32"),
    "purple": _bgr("5a3278"),
    "pink": _bgr("dc82a0"),
    "teal": _bgr("1e7878"),
}
TROUSERS = {
    "black": _bgr("1c1c1e"),
    "navy": _bgr("1e2440"),
    "charcoal": _bgr("3a3c40"),
    "grey": _bgr("70727a"),
    "khaki": _bgr("aa9670"),
    "jeans": _bgr("3c5582"),
    "light jeans": _bgr("6e87aa"),
    "olive": _bgr("555a3c"),
    "brown": _bgr("5a412d"),
    "beige": _bgr("c0ae8c"),
}
SHOES = {
    "black": _bgr("161616"),
    "white": _bgr("e6e6e6"),
    "brown": _bgr("5a3c24"),
    "tan": _bgr("a07846"),
    "grey": _bgr("7a7a7a"),
    "navy": _bgr("1e2646"),
    "red": _bgr("b42828"),
}
VESTS = {"yellow": _bgr("d2f01e"), "orange": _bgr("ff6e14")}
HARD_HATS = {
    "white": _bgr("ececec"),
    "yellow": _bgr("f0d020"),
    "orange": _bgr("f07818"),
    "blue": _bgr("2858c0"),
    "red": _bgr("c02424"),
}
CAPS = {
    "navy": _bgr("1e2a50"),
    "black": _bgr("1c1c1c"),
    "red": _bgr("b42424"),
    "white": _bgr("e0e0e0"),
    "grey": _bgr("808080"),
    "green": _bgr("2a6e3c"),
}
BACKPACKS = {
    "black": _bgr("1a1a1c"),
    "grey": _bgr("64666a"),
    "navy": _bgr("1e2850"),
    "red": _bgr("a02828"),
    "green": _bgr("3c643c"),
    "tan": _bgr("a08764"),
}
GLOVES = {
    "grey": _bgr("8c8c8c"),
    "black": _bgr("222222"),
    "yellow": _bgr("dcc846"),
    "blue": _bgr("3c64b4"),
}
PRINTS = {
    "white": _bgr("f0f0f0"),
    "red": _bgr("d22828"),
    "yellow": _bgr("f0d228"),
    "blue": _bgr("2850c8"),
    "black": _bgr("141414"),
    "green": _bgr("28a040"),
}
TOP_PATTERNS = ("solid", "solid", "solid", "stripes", "block", "print")


@dataclass(frozen=True)
class Appearance:
    """One person's look. Sizes are relative to ``height_m``; colours BGR.

    Attributes:
        person_id: global id (1-based).
        height_m: standing height; build: width factor (0.85 slim .. 1.2 broad);
            hips: hip-to-shoulder width ratio factor (larger = wider hips).
        skin_bgr, hair_bgr, hair_style: ``short``, ``long``, ``ponytail``, ``bun``, ``bald``,
            ``buzz``.
        top_bgr, top_pattern (``solid``, ``stripes``, ``block``, ``print``), top_second_bgr (colour
            of stripes / block / print), long_sleeves.
        chest_print_bgr: small print on the left chest (a logo or badge), or None.
        trousers_bgr, shorts, shoes_bgr.
        vest_bgr: hi-vis vest or None; headwear: ``none``, ``hard_hat`` or ``cap``; headwear_bgr.
        backpack_bgr, gloves_bgr: or None. carrier: carries boxes on some walks.
        lookalike_group: 0 for a unique person, k > 0 for members of look-alike group k.
        labels: colour names, for ``scene.json``.
    """

    person_id: int
    height_m: float
    build: float
    hips: float
    skin_bgr: BGR
    hair_bgr: BGR
    hair_style: str
    top_bgr: BGR
    top_pattern: str
    top_second_bgr: BGR
    long_sleeves: bool
    chest_print_bgr: BGR | None
    trousers_bgr: BGR
    shorts: bool
    shoes_bgr: BGR
    vest_bgr: BGR | None
    headwear: str
    headwear_bgr: BGR | None
    backpack_bgr: BGR | None
    gloves_bgr: BGR | None
    carrier: bool
    lookalike_group: int
    labels: dict[str, str]

    def to_json(self) -> dict:
        """A JSON-ready dict (colours as ``[b, g, r]`` lists)."""
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, tuple):
                out[key] = list(value)
        return out


def _pick(
    rng: np.random.Generator, options: dict[str, BGR], exclude: set[str] = frozenset()
) -> tuple[str, BGR]:
    names = [n for n in options if n not in exclude] or list(options)
    name = names[int(rng.integers(len(names)))]
    return name, options[name]


def _uniform(cfg: PeopleConfig, style: str, rng: np.random.Generator) -> dict:
    """The garments a look-alike group shares (or one unique person wears)."""
    top_name, top = _pick(rng, TOPS)
    second_name, second = _pick(rng, TOPS, {top_name})
    pattern = TOP_PATTERNS[int(rng.integers(len(TOP_PATTERNS)))]
    trousers_name, trousers = _pick(rng, TROUSERS)
    vest = rng.random() < cfg.hi_vis_share
    vest_name, vest_bgr = _pick(rng, VESTS)
    u = rng.random()
    headwear = (
        "hard_hat"
        if u < cfg.hard_hat_share
        else "cap"
        if u < cfg.hard_hat_share + cfg.cap_share
        else "none"
    )
    hat_name, hat_bgr = _pick(rng, HARD_HATS if headwear == "hard_hat" else CAPS)
    gloves = rng.random() < cfg.gloves_share
    gloves_name, gloves_bgr = _pick(rng, GLOVES)
    return {
        "top_bgr": top,
        "top_pattern": pattern,
        "top_second_bgr": second,
        "long_sleeves": bool(rng.random() < 0.5),
        "trousers_bgr": trousers,
        "shorts": bool(style == "retail" and rng.random() < 0.15),
        "vest_bgr": vest_bgr if vest else None,
        "headwear": headwear,
        "headwear_bgr": hat_bgr if headwear != "none" else None,
        "gloves_bgr": gloves_bgr if gloves else None,
        "labels": {
            "top": top_name,
            "top_second": second_name,
            "trousers": trousers_name,
            "vest": vest_name if vest else "none",
            "headwear": f"{hat_name} {headwear}" if headwear != "none" else "none",
            "gloves": gloves_name if gloves else "none",
        },
    }


def _details(rng: np.random.Generator, taken: list[dict]) -> dict:
    """Individual details, differing from each of ``taken`` in two of hair, shoes, print."""
    for _ in range(200):
        hair_name, hair = _pick(rng, HAIR)
        style = HAIR_STYLES[int(rng.integers(len(HAIR_STYLES)))]
        shoes_name, shoes = _pick(rng, SHOES)
        has_print = rng.random() < 0.6
        print_name, print_bgr = _pick(rng, PRINTS)
        d = {
            "hair": (hair_name, style),
            "shoes": shoes_name,
            "print": print_name if has_print else "none",
            "hair_bgr": hair,
            "hair_style": style,
            "shoes_bgr": shoes,
            "chest_print_bgr": print_bgr if has_print else None,
        }
        if all(sum(d[k] != o[k] for k in ("hair", "shoes", "print")) >= 2 for o in taken):
            return d
    return d


def sample_appearances(cfg: PeopleConfig, style: str, rng: np.random.Generator) -> list[Appearance]:
    """``cfg.count`` people: ``lookalike_share`` of them in look-alike groups of 2-4.

    Unique people never share both top and trousers colours with anyone else.
    """
    n = cfg.count
    n_look = int(round(cfg.lookalike_share * n))
    if n_look == 1:
        n_look = 2 if n >= 2 else 0
    # split the look-alikes into groups of 2-4
    sizes: list[int] = []
    left = n_look
    while left > 0:
        size = min(left, int(rng.integers(2, 5)))
        if left - size == 1:
            size = size + 1 if size < 4 else size - 1
        sizes.append(size)
        left -= size
    order = rng.permutation(n)
    group_of = np.zeros(n, dtype=np.int64)
    k = 0
    for g, size in enumerate(sizes, start=1):
        group_of[order[k : k + size]] = g
        k += size

    uniforms = {g: _uniform(cfg, style, rng) for g in range(1, len(sizes) + 1)}
    used_pairs = {(u["labels"]["top"], u["labels"]["trousers"]) for u in uniforms.values()}
    details_by_group: dict[int, list[dict]] = {}
    people: list[Appearance] = []
    for i in range(n):
        g = int(group_of[i])
        if g:
            uniform = uniforms[g]
        else:
            for _ in range(100):
                uniform = _uniform(cfg, style, rng)
                pair = (uniform["labels"]["top"], uniform["labels"]["trousers"])
                if pair not in used_pairs:
                    break
            used_pairs.add(pair)
        taken = details_by_group.setdefault(g, []) if g else []
        det = _details(rng, taken)
        if g:
            taken.append(det)
        backpack = rng.random() < cfg.backpack_share
        bp_name, bp = _pick(rng, BACKPACKS)
        skin = SKIN[int(rng.integers(len(SKIN)))]
        labels = dict(uniform["labels"])
        labels.update(
            hair=f"{det['hair'][0]} {det['hair'][1]}",
            shoes=det["shoes"],
            chest_print=det["print"],
            backpack=bp_name if backpack else "none",
        )
        garments = {k: v for k, v in uniform.items() if k != "labels"}
        people.append(
            Appearance(
                person_id=i + 1,
                height_m=round(float(rng.uniform(*cfg.height_m)), 3),
                build=round(float(rng.uniform(0.86, 1.2)), 3),
                hips=round(float(rng.uniform(0.85, 1.15)), 3),
                skin_bgr=skin,
                hair_bgr=det["hair_bgr"],
                hair_style=det["hair_style"],
                chest_print_bgr=det["chest_print_bgr"],
                shoes_bgr=det["shoes_bgr"],
                backpack_bgr=bp if backpack else None,
                carrier=bool(rng.random() < cfg.carry_share),
                lookalike_group=g,
                labels=labels,
                **garments,
            )
        )
    return people


def with_id(app: Appearance, person_id: int) -> Appearance:
    """A copy of ``app`` with another global id."""
    return replace(app, person_id=person_id)
