# EZ-CLIP ablation: no adapters (prompts only). Everything else, recipes included, is ../ezclip.py's.
_base_ = ["../ezclip.py"]
model = dict(adapters=False)
ablation = dict(of="ezclip", change="no adapters (prompts only)")
