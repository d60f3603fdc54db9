# EZ-CLIP ablation: temporal prompts in the first vision layer only. Everything else, recipes
# included, is ../ezclip.py's.
_base_ = ["../ezclip.py"]
model = dict(prompts="first")
ablation = dict(of="ezclip", change="temporal prompts in the first vision layer only")
