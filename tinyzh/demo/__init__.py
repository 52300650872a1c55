"""``tinyzh demo``: the whole pipeline on bundled data, offline, in minutes on a laptop CPU.

The bundled data (original text, written by :mod:`tinyzh.demo.make_corpus` and
:mod:`tinyzh.demo.make_task`) and the ``demo-products`` task plugin live here too.
"""
