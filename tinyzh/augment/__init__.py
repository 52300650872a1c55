"""Data augmentation for task distillation (``tinyzh augment``).

Built-in augmenters, each an entry point in ``tinyzh.augmenters``: ``synonym`` (dictionary),
``mlm`` (teacher masked-LM, single characters) and ``homophone`` (same-pinyin characters). The
runner (:mod:`tinyzh.augment.runner`) streams a task file and writes the copies; see docs/augment.md.
"""
