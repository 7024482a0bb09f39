"""Indices of the MediaPipe Face Mesh landmarks twitchcam measures, grouped by the subject's anatomical side.

MediaPipe names follow the subject's anatomy for an UNMIRRORED image: the "right" eye (33/133) is on the
image's left. Every group below is given for both sides in the same order, so that element ``i`` of the
left group mirrors element ``i`` of the right group.
"""

from __future__ import annotations

# Eye corners.
EYE_OUTER = {"right": 33, "left": 263}
EYE_INNER = {"right": 133, "left": 362}
# Upper/lower lid pairs measured for the eyelid aperture (outer third, middle, inner third).
UPPER_LID = {"right": (160, 159, 158), "left": (387, 386, 385)}
LOWER_LID = {"right": (144, 145, 153), "left": (373, 374, 380)}
# Whole lid contours, for drawing and for warping.
UPPER_LID_CONTOUR = {"right": (33, 246, 161, 160, 159, 158, 157, 173, 133),
                     "left": (263, 466, 388, 387, 386, 385, 384, 398, 362)}
LOWER_LID_CONTOUR = {"right": (33, 7, 163, 144, 145, 153, 154, 155, 133),
                     "left": (263, 249, 390, 373, 374, 380, 381, 382, 362)}
IRIS_CENTRE = {"right": 468, "left": 473}
IRIS_RING = {"right": (469, 470, 471, 472), "left": (474, 475, 476, 477)}
# Upper edge of the eyebrow, lateral to medial.
BROW = {"right": (70, 63, 105, 66, 107), "left": (300, 293, 334, 296, 336)}
# Malar (cheek) surface below the lower lid: rises when the orbicularis oculi and zygomaticus contract.
CHEEK = {"right": (50, 101, 118, 117, 123, 205, 36), "left": (280, 330, 347, 346, 352, 425, 266)}
MOUTH_CORNER = {"right": 61, "left": 291}

# Points on the face midline that stay put when the face moves: forehead and nose bridge.
MIDLINE_RIGID = (10, 151, 9, 8, 168, 6, 197, 195, 5, 4)
FOREHEAD_TOP = 10
NOSE_BRIDGE = 168
NOSE_TIP = 1
CHIN = 152
UPPER_LIP = 0
LOWER_LIP = 17

SIDES = ("left", "right")

# MediaPipe's 52 blendshape names, in the order the model emits them.
BLENDSHAPE_NAMES = (
    "_neutral", "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "eyeBlinkLeft", "eyeBlinkRight", "eyeLookDownLeft",
    "eyeLookDownRight", "eyeLookInLeft", "eyeLookInRight", "eyeLookOutLeft", "eyeLookOutRight", "eyeLookUpLeft",
    "eyeLookUpRight", "eyeSquintLeft", "eyeSquintRight", "eyeWideLeft", "eyeWideRight", "jawForward", "jawLeft",
    "jawOpen", "jawRight", "mouthClose", "mouthDimpleLeft", "mouthDimpleRight", "mouthFrownLeft",
    "mouthFrownRight", "mouthFunnel", "mouthLeft", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthPressLeft",
    "mouthPressRight", "mouthPucker", "mouthRight", "mouthRollLower", "mouthRollUpper", "mouthShrugLower",
    "mouthShrugUpper", "mouthSmileLeft", "mouthSmileRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthUpperUpLeft", "mouthUpperUpRight", "noseSneerLeft", "noseSneerRight",
)
