"""Tiny, offline building blocks for tests: a vocabulary, a tokenizer directory and BERT models.

Nothing here downloads anything; shapes follow transformers' own BERT tests (hidden 32-64, 2-4
layers, 4 heads) so a forward pass takes milliseconds.
"""

from __future__ import annotations

import string
from pathlib import Path

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
PUNCT = list("，。！？、；：“”‘’（）《》【】…—·,.!?;:'\"()[]-_/%&+#@*~|")
# The 800 most frequent Chinese characters of a mixed news/review corpus.
COMMON_CHARS = "的不了是一有机个这好用就还我很人没在大电手到么上来买能也后时以音为说都中天要耳小点可看多会下质你出家商错价过发次国子比年开什充给和感得城太自快现差真最货样行对生果品新量如第服高前实之心动但觉他分评本想常东里面方学西装只们然意度问三听成怎去道话老无那打着接别送两物线体声经全明网月美而知间吧外重收再题才地日直起合些回非被几信客业力满吗做当作于事格场正换何特二原者其让女流十包情友长头星定值单应购法因公产赛工望所钱便进位卡又退已相关己完同池屏喜更理候使总入万刚挺超安今放主联王连市球号通金欢带般保部文色结解将名少哪活款效元与试种性强期身较战速配表容视务内观边从系清气且数低宝显员加游像反平失器贴掉坏把等算玩示该马待拿级选膜米水递海四提车张白推化世影爱代儿考教件口区牌易队续难报先适啊华幕受块图百乐持计她门五戏资呢周蓝跟谁变售功花首建亮却神运式决戴半断斯利界光确师片费双越根目照男希牙论热台支设股始传需处慢降求英竟足此士路认频尔贵语走指见风整孩黑存按够记死态据店投拍任久字节请键绝红塞创议套卖统民军并近复司布制山底北段微歌简火技优演验响基晚南亿跑修立精展户调达科办备舒播腾破岁步千讯亲离管消注或住朵它告煲交专荣校各找每妈龙准哈营至朋致轻造京转书苹条荐德及深州壳房标耀改象程细空笑午终克广季赞眼未李耐拉插排版必左证导育黄冠哥思吃言罗颜向取票型况右防习胜普术早际远源维严假云母测称居角料故冲升宜棒息爆预盒极奇干软举落历板写虽领控坑护害势局查巴闻短置剧遇谢智婚拆背青形官毕硬择模留由稳漂追刘除钟史往缺武啥率划渣随富初否句申亚雄杀院招画责集读惊村江团帮众媒省继份约规赠突伤免命惠佩紧获职封类操圈飞晰疑啦艺春松森礼农六盘许倒良引即博助击录银材阿端敢政婆参社古识略病靠另币爸企父福压诉仅销阳航权怀项搞争答摄林付案增昨怕具七波翻姐毛限启骗迷钢脑座垃链败站叫圾穿园铁夫冰丝登组呵灵班究宣皮梦输讲盟养厂研烂范切旧停贝共财损义"
WORD_PIECES = ["iphone", "hello", "world", "ok", "bert", "app", "vip"]


def vocab_tokens() -> list[str]:
    tokens = list(SPECIAL) + PUNCT + list(string.digits) + list(string.ascii_lowercase)
    tokens += ["##" + c for c in string.ascii_lowercase + string.digits]
    tokens += WORD_PIECES + list(COMMON_CHARS)
    seen: set[str] = set()
    return [t for t in tokens if not (t in seen or seen.add(t))]


def write_vocab(directory: Path) -> Path:
    """Write vocab.txt (about 900 entries) into directory and return the directory."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "vocab.txt").write_text("\n".join(vocab_tokens()) + "\n", encoding="utf-8")
    return directory


def tiny_bert_config(vocab_size: int, *, layers: int = 4, hidden: int = 64, heads: int = 4, max_len: int = 128, **kw):
    from transformers import BertConfig

    return BertConfig(
        vocab_size=vocab_size,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=hidden * 2,
        max_position_embeddings=max_len,
        **kw,
    )


def save_tiny_bert(directory: Path, vocab_dir: Path, *, kind: str = "mlm", seed: int = 0, **config_kw) -> Path:
    """Save a randomly initialised tiny BERT (kind: mlm, base or cls) plus tokenizer files."""
    import torch
    from transformers import BertForMaskedLM, BertForSequenceClassification, BertModel, BertTokenizer

    tokenizer = BertTokenizer.from_pretrained(str(vocab_dir))
    config = tiny_bert_config(len(tokenizer), **config_kw)
    torch.manual_seed(seed)
    model_cls = {"mlm": BertForMaskedLM, "base": BertModel, "cls": BertForSequenceClassification}[kind]
    model = model_cls(config)
    model.save_pretrained(str(directory))
    tokenizer.save_pretrained(str(directory))
    return directory


# --------------------------------------------------------------------------- SentencePiece (Unigram)
SPM_SPECIAL = ["<s>", "<pad>", "</s>", "<unk>"]  # ids 0-3 as in XLM-R / multilingual-e5; <mask> goes last


def spm_training_lines() -> list[str]:
    """A few hundred lines of Chinese (the bundled demo corpus) plus some Latin text and digits."""
    corpus = Path(__file__).resolve().parents[1] / "tinyzh" / "data" / "demo_corpus.txt"
    lines = [line for line in corpus.read_text(encoding="utf-8").splitlines() if line.strip()][:400]  # < 700 chars
    return lines + ["hello world iphone 12 ok", "bert app vip 2024 年", "价格 100 元，质量 ok！"] * 5


def build_spm_tokenizer(vocab_size: int = 700, *, lines: list[str] | None = None):
    """A Unigram SentencePiece fast tokenizer shaped like multilingual-e5's (NFKC, ``▁``, specials).

    Trained in memory on ``lines`` (default ``spm_training_lines``) in well under a second; every
    character of the training text is kept as a piece, so it has few unknowns on that text.
    """
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(" {2,}", " ")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=False)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=False)
    trainer = trainers.UnigramTrainer(vocab_size=vocab_size, special_tokens=list(SPM_SPECIAL), unk_token="<unk>",
                                      shrinking_factor=0.75, max_piece_length=4)
    tok.train_from_iterator(lines if lines is not None else spm_training_lines(), trainer=trainer)
    tok.add_special_tokens(["<mask>"])
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", 0), ("</s>", 2)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", cls_token="<s>",
                                   sep_token="</s>", unk_token="<unk>", pad_token="<pad>", mask_token="<mask>")


def write_spm_tokenizer(directory: Path, vocab_size: int = 700) -> Path:
    """Save a tiny SentencePiece tokenizer (tokenizer.json + config) into directory."""
    directory.mkdir(parents=True, exist_ok=True)
    build_spm_tokenizer(vocab_size).save_pretrained(str(directory))
    return directory


def save_tiny_model(directory: Path, tokenizer_dir: Path, *, model_type: str = "bert", kind: str = "base",
                    seed: int = 0, layers: int = 4, hidden: int = 64, heads: int = 4, max_len: int = 128,
                    **config_kw):
    """A randomly initialised tiny encoder of a transformers family (bert, xlm-roberta, roberta, ernie).

    kind: ``base`` (encoder only), ``mlm`` or ``cls``. The tokenizer files are copied from
    ``tokenizer_dir``; special token ids come from the tokenizer.
    """
    import torch
    from transformers import (
        AutoConfig,
        AutoModel,
        AutoModelForMaskedLM,
        AutoModelForSequenceClassification,
        AutoTokenizer,
    )

    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    extra = {"max_position_embeddings": max_len + (2 if model_type in ("roberta", "xlm-roberta") else 0)}
    config = AutoConfig.for_model(
        model_type, vocab_size=len(tokenizer), hidden_size=hidden, num_hidden_layers=layers,
        num_attention_heads=heads, intermediate_size=hidden * 2, pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.cls_token_id, eos_token_id=tokenizer.sep_token_id, **{**extra, **config_kw})
    torch.manual_seed(seed)
    factory = {"base": AutoModel, "mlm": AutoModelForMaskedLM, "cls": AutoModelForSequenceClassification}[kind]
    model = factory.from_config(config)
    model.save_pretrained(str(directory))
    tokenizer.save_pretrained(str(directory))
    return directory
