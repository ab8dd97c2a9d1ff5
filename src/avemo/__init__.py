"""avemo: audio-visual emotion recognition on CREMA-D with one shared image encoder."""

__version__ = "0.1.0"
