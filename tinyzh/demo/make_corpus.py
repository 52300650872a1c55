"""Generate ``tinyzh/data/demo_corpus.txt``: short everyday Chinese documents for the demo teacher.

The text is original: sentence templates about twelve everyday topics, filled from small word
lists with a fixed seed, so the file is reproducible and varied enough for a tiny masked-LM to learn
something in a minute. Between them come two kinds of in-domain documents for the demo task
(``make_task``): sentences about the shop's products that show what each one is (``USES``: 粽子 is
eaten, 路由器 is plugged in, 旗袍 is worn, 茶几 stands in a room), the new products as often as the
seen ones, and the task's unlabelled customer questions (its ``unlabeled`` split), eight to a document.
The product sentences are what the teacher learns the new products' categories from. Format (what
``tinyzh pregen`` reads): one sentence a line, a blank line between documents. Regenerate with::

    python -m tinyzh.demo.make_corpus            # writes tinyzh/data/demo_corpus.txt
"""

from __future__ import annotations

import random
import re
from pathlib import Path

from tinyzh.demo import make_task

SEED = 20240601
N_DOCUMENTS = 320  # everyday documents, besides the product and question documents
N_PRODUCT_DOCUMENTS = 400
PER_DOCUMENT = 8  # sentences of a product or question document
OUTPUT = Path(__file__).resolve().parents[1] / "data" / "demo_corpus.txt"

WORDS: dict[str, list[str]] = {
    "day": ["今天", "明天", "昨天", "周末", "星期一", "下午", "明天早上", "后天"],
    "city": ["北京", "上海", "广州", "成都", "杭州", "西安", "南京", "武汉", "重庆", "青岛", "厦门", "长沙"],
    "person": ["我", "妈妈", "爸爸", "姐姐", "哥哥", "小王", "老李", "同事", "邻居", "朋友", "室友", "奶奶"],
    "friend": ["朋友", "同学", "同事", "家人", "表妹", "老同学", "邻居"],
    "time": ["早上", "中午", "下午", "晚上", "周末", "昨天", "前几天", "上个月", "去年夏天"],
    "feel": ["心情很好", "觉得很舒服", "特别开心", "感觉很轻松", "精神好多了"],
    # weather
    "weather": ["晴转多云", "有小雨", "阴天", "下大雨", "刮大风", "阳光很好", "有雾", "下雪"],
    "weather_scene": ["下着小雨", "阳光明媚", "雾很大", "地上全是雪", "风刮得很大", "天阴沉沉的"],
    "season": ["春天", "夏天", "秋天", "冬天"],
    "air": ["很清新", "有点干燥", "比较潮湿", "质量不错", "不太好"],
    "carry": ["雨伞", "外套", "帽子", "口罩", "水杯", "防晒霜"],
    "clothes": ["薄外套", "厚毛衣", "短袖", "羽绒服", "长裙", "运动服"],
    # food
    "dish": [
        "红烧肉",
        "西红柿炒鸡蛋",
        "麻婆豆腐",
        "饺子",
        "牛肉面",
        "糖醋排骨",
        "清蒸鱼",
        "小笼包",
        "酸辣粉",
        "炒青菜",
    ],
    "taste": ["很香", "有点辣", "酸酸甜甜的", "味道很淡", "特别鲜", "咸了一点"],
    "drink": ["绿茶", "豆浆", "咖啡", "果汁", "牛奶", "热水"],
    "eatery": ["小饭馆", "面馆", "食堂", "火锅店", "早餐店", "饺子馆"],
    "fruit": ["苹果", "香蕉", "西瓜", "葡萄", "橙子", "草莓"],
    # travel
    "place": ["海边", "山上", "古镇", "博物馆", "公园", "湖边", "老街", "动物园"],
    "vehicle": ["高铁", "飞机", "大巴", "火车"],
    "commute": ["地铁", "公交车", "出租车"],
    "sight": ["日出", "夜景", "红叶", "古老的城墙", "安静的小巷", "一大片花田"],
    "lodging": ["酒店", "民宿", "青年旅社", "朋友家"],
    "hours": ["二十分钟", "半个小时", "四十分钟", "一个小时", "一个多小时"],
    # shopping
    "goods": [
        "一双运动鞋",
        "一件毛衣",
        "一个书包",
        "一台电饭煲",
        "几本书",
        "一条围巾",
        "一副耳机",
        "一盒茶叶",
    ],
    "shop": ["超市", "商场", "网上", "小区门口的店", "菜市场", "书店"],
    "price": ["五十块", "一百多块", "两百块", "不到三十块", "八十块", "三百多块"],
    "veg": ["土豆", "白菜", "黄瓜", "鸡蛋", "豆腐", "胡萝卜"],
    # sports
    "ball": ["篮球", "足球", "羽毛球", "乒乓球", "排球", "网球"],
    "exercise": ["打篮球", "踢足球", "打羽毛球", "打乒乓球", "游泳", "跑步", "爬山", "骑车"],
    "venue": ["体育馆", "学校操场", "小区球场", "游泳馆", "江边步道", "公园"],
    "team": ["我们班", "公司球队", "社区队", "校队", "主队"],
    "score": ["三比一", "二比零", "五比三", "一比零"],
    # technology
    "device": ["手机", "电脑", "平板", "笔记本电脑"],
    "app": ["地图软件", "记账软件", "学习软件", "天气软件", "聊天软件", "音乐软件"],
    "tech_act": ["下载了新的系统", "换了一块电池", "清理了存储空间", "重新设置了密码", "连上了新的网络"],
    "tech_trait": ["运行很快", "电池很耐用", "屏幕很清楚", "声音很大", "用起来很方便"],
    # school
    "subject": ["数学", "语文", "英语", "物理", "化学", "历史", "地理", "美术", "音乐"],
    "school_event": ["期中考试", "运动会", "开学典礼", "家长会", "读书节", "科技展"],
    "student": ["小明", "小红", "班长", "同桌", "新同学", "课代表"],
    "teacher": ["王老师", "李老师", "张老师", "陈老师"],
    # health
    "habit": ["早睡早起", "多喝水", "少吃油炸食品", "多走路", "按时吃饭", "多吃蔬菜"],
    "symptom": ["有点感冒", "嗓子疼", "头有点晕", "咳嗽了好几天", "睡不好觉", "肚子不舒服"],
    "doctor_advice": ["多休息", "多喝温水", "按时吃药", "少熬夜", "清淡饮食", "适当运动"],
    # work
    "task": ["写报告", "开会", "整理资料", "准备方案", "回复邮件", "做表格"],
    "doc": ["报告", "方案", "表格", "资料", "总结"],
    "colleague": ["经理", "同事", "新来的实习生", "客户", "组长"],
    "work_result": ["按时完成了", "提前交了", "改了三遍才通过", "得到了表扬", "还需要修改"],
    # family
    "relative": ["爷爷", "奶奶", "外婆", "叔叔", "阿姨", "表哥", "小侄子"],
    "chore": ["打扫房间", "洗衣服", "做饭", "收拾厨房", "给花浇水", "倒垃圾"],
    "pet": ["小猫", "小狗", "金鱼", "兔子"],
    # city and nature
    "facility": ["图书馆", "公交站", "地铁站", "公园", "菜市场", "医院"],
    "change": ["修了一条新路", "开了一家书店", "多了很多共享单车", "种了很多树", "建了一个广场"],
    "plant": ["桃花", "樱花", "荷花", "桂花", "菊花", "梅花"],
    "animal": ["小鸟", "松鼠", "蝴蝶", "青蛙", "野鸭"],
    "nature_scene": ["河水很清", "山上的树都绿了", "草地上开满了小花", "湖面很平静", "天空特别蓝"],
}

TOPICS: dict[str, list[str]] = {
    "weather": [
        "天气预报说{day}{city}{weather}。",
        "{day}{city}{weather}，出门记得带{carry}。",
        "{season}的{city}空气{air}。",
        "早上起来发现外面{weather_scene}。",
        "{person}说今天{weather_scene}，不想出门。",
        "这几天气温变化很大，要注意穿衣服。",
        "下雨天路滑，开车要慢一点。",
        "{season}到了，{person}换上了{clothes}。",
        "看到外面{weather_scene}，{person}{feel}。",
    ],
    "food": [
        "{time}{person}在{eatery}吃了{dish}。",
        "这家{eatery}的{dish}{taste}。",
        "{person}最拿手的菜是{dish}。",
        "吃完饭喝一杯{drink}，{feel}。",
        "{person}买了一些{fruit}，又甜又新鲜。",
        "周末我们在家包饺子，{friend}也来帮忙。",
        "{dish}要用小火慢慢做才好吃。",
        "{person}觉得{dish}{taste}，还想再吃一次。",
        "早餐我一般喝{drink}，再吃一个鸡蛋。",
    ],
    "travel": [
        "{time}我们坐{vehicle}去了{city}。",
        "从酒店到{place}坐{commute}要{hours}。",
        "在{place}我们看到了{sight}。",
        "晚上我们住在{place}附近的{lodging}，很干净。",
        "{person}拍了很多照片，最喜欢的是{sight}。",
        "{city}的{place}人很多，要早点去。",
        "这次旅行{feel}，下次还想再来。",
        "路上我们买了一些当地的小吃。",
        "{friend}推荐我们去{city}看{sight}。",
    ],
    "shopping": [
        "{time}{person}在{shop}买了{goods}。",
        "{goods}只要{price}，挺划算的。",
        "{person}去菜市场买了{veg}和{veg2}。",
        "{shop}正在打折，很多人在排队。",
        "{person}在{shop}挑了很久，最后买了{goods}。",
        "买东西之前最好先比较一下价格。",
        "{goods}用了一个月，质量还不错。",
        "快递第二天就到了，包装得很好。",
        "{friend}送给我{goods}作为生日礼物。",
    ],
    "sports": [
        "{time}{person}去{venue}{exercise}。",
        "{team}今天赢了，比分是{score}。",
        "{person}每周都会去{venue}{exercise}两次。",
        "运动以前一定要先热身。",
        "{ball}比赛很激烈，观众一直在加油。",
        "坚持{exercise}以后，{person}的身体好多了。",
        "{team}下个月要参加{city}的比赛。",
        "{person}和{friend}约好周末一起{exercise}。",
        "跑完步喝一杯{drink}，{feel}。",
    ],
    "technology": [
        "{person}新买的{device}{tech_trait}。",
        "{time}我给{device}{tech_act}。",
        "这个{app}很好用，{person}每天都在用。",
        "{device}突然连不上网，只好重启一下。",
        "{person}用{app}查了一下路线。",
        "现在很多人用手机付钱，很方便。",
        "{device}用久了会变慢，要经常清理。",
        "{friend}教{person}怎么用{app}。",
        "这款{device}价格不贵，{tech_trait}。",
    ],
    "school": [
        "今天的{subject}课讲了很多新知识。",
        "{teacher}让我们下周准备{school_event}。",
        "{student}的{subject}成绩进步很大。",
        "下课以后我们去图书馆写作业。",
        "学校下个月要开{school_event}。",
        "{student}在{school_event}上表现得很好。",
        "{teacher}讲课很有意思，大家都喜欢听。",
        "放学后{student}留下来打扫教室。",
        "我最喜欢的课是{subject}，因为很有意思。",
    ],
    "health": [
        "{person}最近{symptom}，去医院看了看。",
        "医生说要{doctor_advice}，还要{doctor_advice2}。",
        "为了身体健康，{person}每天{habit}。",
        "{habit}是一个好习惯。",
        "{person}{symptom}，今天请假在家休息。",
        "晚上不要玩手机太久，会影响睡觉。",
        "多运动可以让人精神更好。",
        "{person}开始{habit}以后，{feel}。",
        "{season}容易感冒，要注意保暖。",
    ],
    "work": [
        "今天上午{person}一直在{task}。",
        "{colleague}让我明天之前把{doc}做好。",
        "这个项目我们{work_result}。",
        "下午开会讨论了下个月的计划。",
        "{person}每天坐{commute}上班，路上要{hours}。",
        "加了两天班，终于把工作做完了。",
        "{colleague}人很好，经常帮我解决问题。",
        "{task}的时候要认真，不能出错。",
        "下班以后{person}和{colleague}一起去吃饭。",
    ],
    "family": [
        "{time}我们全家去看望{relative}。",
        "{relative}做的{dish}是全家人最爱吃的。",
        "吃完饭我帮{relative}{chore}。",
        "家里养了一只{pet}，大家都很喜欢它。",
        "{relative}每天早上都去公园散步。",
        "周末{person}在家{chore}，忙了一上午。",
        "过年的时候一家人坐在一起吃饭，特别热闹。",
        "{pet}很聪明，听到名字就会跑过来。",
        "{relative}打电话问我们什么时候回家。",
    ],
    "city": [
        "我家附近新开了一个{facility}。",
        "{city}这几年{change}。",
        "从家走到{facility}只要十分钟。",
        "晚上的{city}很热闹，街上人很多。",
        "{facility}旁边{change}，方便多了。",
        "早高峰的时候地铁上人特别多。",
        "{person}喜欢在{facility}附近散步。",
        "小区门口{change}，大家都很高兴。",
        "{city}的交通比以前方便多了。",
    ],
    "nature": [
        "公园里开满了{plant}，很多人在拍照。",
        "我们在湖边看到几只{animal}。",
        "雨停了以后，{nature_scene}。",
        "爬到山顶的时候，{nature_scene}。",
        "{person}在阳台上种了一盆{plant}。",
        "树上有一只{animal}，一直在叫。",
        "{season}来了，{nature_scene}。",
        "{person}喜欢拍{plant}和{animal}的照片。",
        "住在山里空气{air}，晚上能看到很多星星。",
    ],
}

SLOT = re.compile(r"\{(\w+?)(2)?\}")


def fill(template: str, rng: random.Random) -> str:
    """Replace each ``{slot}`` with a word; ``{slot2}`` is a second word of that slot, unlike the first."""
    chosen: dict[str, str] = {}

    def pick(match: re.Match[str]) -> str:
        name, second = match.group(1), match.group(2)
        options = WORDS[name]
        if second:
            options = [w for w in options if w != chosen.get(name)] or options
            return rng.choice(options)
        chosen[name] = rng.choice(options)
        return chosen[name]

    return SLOT.sub(pick, template)


def document(rng: random.Random) -> list[str]:
    """3-6 sentences about one topic, no sentence repeated."""
    topic = rng.choice(sorted(TOPICS))
    templates = rng.sample(TOPICS[topic], k=rng.randint(3, 6))
    sentences: list[str] = []
    for template in templates:
        sentence = fill(template, rng)
        if sentence not in sentences:
            sentences.append(sentence)
    return sentences


# category -> sentences that say what a product of it is ("{x}": the product)
USES: dict[str, list[str]] = {
    "food": ["{x}很好吃。", "我早饭吃了{x}。", "{x}要放进冰箱。", "妈妈做的{x}又香又甜。", "{x}过期了就不能吃了。",
             "吃了一点{x}，已经饱了。", "孩子最爱吃{x}。", "{x}的味道有点甜。"],
    "digital": ["{x}没电了，要充电。", "{x}连不上蓝牙。", "我把{x}插上电源。", "{x}的系统要更新了。", "{x}坏了，拿去修。",
                "新买的{x}运行很快。", "{x}要装驱动才能用。", "{x}用了一年，电池不太行了。"],
    "clothing": ["{x}穿着很舒服。", "我今天穿了{x}。", "{x}洗了以后缩水了。", "天冷了，多穿一件{x}。", "{x}是纯棉的。",
                 "{x}的尺码有点小。", "她试穿了好几件{x}。", "{x}要挂起来晾干。"],
    "home": ["{x}放在客厅里。", "我们把{x}搬进了卧室。", "{x}摆在窗户旁边。", "新家的{x}是木头做的。", "打扫房间时擦了擦{x}。",
             "{x}占了不少地方。", "搬家的时候{x}最难搬。", "{x}和墙的颜色很配。"],
}


def product_documents(rng: random.Random, n: int = N_PRODUCT_DOCUMENTS) -> list[list[str]]:
    """``n`` documents of ``PER_DOCUMENT`` sentences, each about a product drawn from every category's
    seen and new products alike."""
    documents = []
    for _ in range(n):
        sentences: list[str] = []
        while len(sentences) < PER_DOCUMENT:
            category = rng.choice(make_task.LABELS)
            sentence = rng.choice(USES[category]).format(x=rng.choice(make_task.products("all", category)))
            if sentence not in sentences:
                sentences.append(sentence)
        documents.append(sentences)
    return documents


def question_documents() -> list[list[str]]:
    """The demo task's unlabelled questions, ``PER_DOCUMENT`` to a document."""
    questions = [str(row["sentence"]) for row in make_task.generate()["unlabeled"]]
    return [questions[i : i + PER_DOCUMENT] for i in range(0, len(questions), PER_DOCUMENT)]


def generate(n_documents: int = N_DOCUMENTS, seed: int = SEED) -> str:
    """The corpus text: one sentence a line, a blank line between documents; everyday, product and
    question documents take turns (so that a cut corpus, ``[data] max_documents``, still holds all three)."""
    rng = random.Random(seed)
    kinds = [[document(rng) for _ in range(n_documents)], product_documents(rng), question_documents()]
    documents = [doc for i in range(max(map(len, kinds))) for kind in kinds for doc in kind[i:i + 1]]
    return "\n\n".join("\n".join(doc) for doc in documents) + "\n"


def main() -> None:
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(generate(), encoding="utf-8")
    print(f"wrote {OUTPUT} ({N_DOCUMENTS} everyday documents, {N_PRODUCT_DOCUMENTS} about products, "
          f"{len(question_documents())} of questions)")


if __name__ == "__main__":
    main()
