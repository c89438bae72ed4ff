"""What the engine knows of the four services beyond their codes (``core.vocab``): the spellings
people use for them, and the skill tags each usually needs, in residents' words.
"""
from __future__ import annotations

from core.vocab import SERVICE_LABELS_ZH, Service

# Accepted spellings in files and requests, normalised to the code.
SERVICE_ALIASES: dict[str, Service] = {
    **{code.value: code for code in Service},
    **{label: Service(code) for code, label in SERVICE_LABELS_ZH.items()},
    "公共": Service.PUBLIC,
    "社会": Service.SOCIAL,
    "市场": Service.MARKET,
    "志愿": Service.VOLUNTEER,
}

# Skill tags by the service that usually uses them. Providers may carry tags of several services;
# the matcher compares need texts with these tags, so keep them short and in residents' words.
SKILLS_BY_SERVICE: dict[str, tuple[str, ...]] = {
    Service.PUBLIC: (
        "社保", "医保", "户籍", "居住证", "身份证", "低保", "救助", "补贴申请", "政策咨询",
        "路灯", "道路", "下水道", "公厕", "公园", "消防", "违建", "电线", "环境卫生",
        "法律援助", "劳动纠纷", "欠薪", "调解", "养老金", "残疾证", "计生",
    ),
    Service.SOCIAL: (
        "心理咨询", "法律咨询", "日间照料", "居家照护", "康复训练", "家庭调解", "邻里调解",
        "亲子教育", "四点半课堂", "职业培训", "社工", "禁毒", "青少年服务", "长者服务",
    ),
    Service.MARKET: (
        "家电维修", "水管维修", "开锁", "漏水", "电路维修", "保洁", "搬家", "家政", "月嫂",
        "育儿嫂", "护工", "除虫", "电梯", "物业", "装修", "空调清洗",
    ),
    Service.VOLUNTEER: (
        "陪诊", "买菜", "送餐", "辅导作业", "探访", "智能手机", "网上办事", "代跑腿",
        "翻译", "社区活动", "理发", "读报", "陪伴聊天", "文艺", "助老",
    ),
}

ALL_SKILLS: tuple[str, ...] = tuple(s for tags in SKILLS_BY_SERVICE.values() for s in tags)

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_LABELS_ZH: tuple[str, ...] = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


def normalise_service(value: str) -> Service | None:
    """The service code for a code or a Chinese label, or None when it is not one."""
    return SERVICE_ALIASES.get(value.strip().lower() if value.isascii() else value.strip())
