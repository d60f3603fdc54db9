"""EZ-CLIP benchmark harness: video-text recognizers on open_clip towers, run by mmengine.

Importing the package applies the stack fixes and registers every model, dataset, transform,
metric and hook in mmaction2's registries, so an mmengine config only needs
``custom_imports = dict(imports=['ezclip'])``.
"""

from ezclip import _compat

_compat.apply()

from mmengine.registry import DefaultScope  # noqa: E402

from ezclip import clip, data, metrics, models  # noqa: E402,F401  (registration side effects)

# Outside a Runner, nested builds (a dataset's transforms, a model's preprocessor) look names up in
# the current default scope; make it mmaction's unless the caller already chose one.
if DefaultScope.get_current_instance() is None:
    DefaultScope.get_instance("ezclip", scope_name="mmaction")

__version__ = "0.1.0"
