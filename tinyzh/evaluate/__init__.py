"""``tinyzh eval``: fine-tune, score and predict CLUE tasks for several models; see ``runner.run_eval``.

Modules: ``config`` (EvalConfig), ``finetune`` (model loading, AdamW loop, prediction), ``metrics``,
``submission`` (CLUE files + zip), ``results`` (per-pair records, table, JSON/CSV, chart), ``runner``.
"""
