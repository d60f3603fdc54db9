# EZ-CLIP ablation: no temporal prompts. Everything else, recipes included, is ../ezclip.py's.
_base_ = ["../ezclip.py"]
model = dict(prompts="none")
ablation = dict(of="ezclip", change="no temporal prompts")
