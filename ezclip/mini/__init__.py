"""The embedded mini benchmark: a generated video world and a tiny CLIP pretrained on it."""
