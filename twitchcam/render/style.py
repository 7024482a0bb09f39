"""The look shared by every output: one colour per side (Okabe–Ito, distinguishable with colour blindness)
and how sides are named. No drawing library is imported here, so the live window and the pages can use it."""

SIDE_COLOURS = {"left": "#D55E00", "right": "#0072B2"}
SIDE_LABELS = {"left": "patient's left", "right": "patient's right"}


def bgr(hex_colour: str) -> tuple[int, int, int]:
    """'#RRGGBB' as OpenCV's (blue, green, red)."""
    value = hex_colour.lstrip("#")
    r, g, b = (int(value[i : i + 2], 16) for i in (0, 2, 4))
    return b, g, r


SIDE_BGR = {side: bgr(colour) for side, colour in SIDE_COLOURS.items()}
