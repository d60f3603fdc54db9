# Vanilla zero-shot CLIP: frozen towers, frame features mean-pooled, the bare class name as text
# (ViFi-CLIP's ZS_EVAL setting, ViFi-CLIP#6). Added by this config alone, on the generic VideoCLIP
# recognizer: see README "Add a baseline".
custom_imports = dict(imports=["ezclip"], allow_failed_imports=False)

model = dict(
    type="VideoCLIP",
    clip=dict(arch="ViT-B-16", pretrained="openai"),
    num_frames=8,
    templates=["{}"],
    trainable=[],
    data_preprocessor=dict(type="VideoTextPreprocessor", normalization="clip"),
)
recipe = dict(epochs=0, input_size=224, test_crops=1)  # nothing to train
reference = dict(paper="arXiv 2103.00020", code="github.com/openai/CLIP")
