"""Built-in tokenizer plugins (entry-point group ``tinyzh.tokenizers``)."""
