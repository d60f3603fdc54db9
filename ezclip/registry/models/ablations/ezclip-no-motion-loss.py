# EZ-CLIP ablation: no motion loss. Everything else, recipes included, is ../ezclip.py's.
_base_ = ["../ezclip.py"]
model = dict(motion_loss_weight=0.0)
ablation = dict(of="ezclip", change="no motion loss")
