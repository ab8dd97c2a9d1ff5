"""The three kinds of model and the modalities each reads; no heavy import, so a stage's command line
can use them before torch loads."""

KINDS = ("audio", "video", "av")
MODALITIES_OF = {"audio": ("audio",), "video": ("video",), "av": ("audio", "video")}
