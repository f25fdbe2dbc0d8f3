"""Coded vocabularies carried in the QR payload instead of repeated words.

Each table is versioned with the payload format (``VOCAB_VERSION``): a code,
once published, keeps its meaning forever; new entries get new codes.  A value
that is not in a table travels as text, so the tables never limit what can be
issued, they only make common certificates smaller.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

VOCAB_VERSION: Final = 1

#: Species and timber types commonly moved between nurseries and projects in the
#: Delta: code -> (product name, scientific name).
SPECIES: Final = MappingProxyType(
    {
        1: ("香樟", "Cinnamomum camphora"),
        2: ("桂花", "Osmanthus fragrans"),
        3: ("红叶石楠", "Photinia × fraseri"),
        4: ("银杏", "Ginkgo biloba"),
        5: ("广玉兰", "Magnolia grandiflora"),
        6: ("榉树", "Zelkova serrata"),
        7: ("朴树", "Celtis sinensis"),
        8: ("无患子", "Sapindus mukorossi"),
        9: ("樱花", "Prunus serrulata"),
        10: ("紫薇", "Lagerstroemia indica"),
        11: ("鸡爪槭", "Acer palmatum"),
        12: ("红枫", "Acer palmatum 'Atropurpureum'"),
        13: ("乌桕", "Triadica sebifera"),
        14: ("黄山栾树", "Koelreuteria bipinnata var. integrifoliola"),
        15: ("栾树", "Koelreuteria paniculata"),
        16: ("水杉", "Metasequoia glyptostroboides"),
        17: ("池杉", "Taxodium distichum var. imbricarium"),
        18: ("落羽杉", "Taxodium distichum"),
        19: ("雪松", "Cedrus deodara"),
        20: ("马尾松", "Pinus massoniana"),
        21: ("黑松", "Pinus thunbergii"),
        22: ("湿地松", "Pinus elliottii"),
        23: ("女贞", "Ligustrum lucidum"),
        24: ("金森女贞", "Ligustrum japonicum 'Howardii'"),
        25: ("杜鹃", "Rhododendron simsii"),
        26: ("海桐", "Pittosporum tobira"),
        27: ("黄杨", "Buxus sinica"),
        28: ("珊瑚树", "Viburnum odoratissimum var. awabuki"),
        29: ("悬铃木", "Platanus × acerifolia"),
        30: ("垂柳", "Salix babylonica"),
        31: ("杨树", "Populus spp."),
        32: ("国槐", "Styphnolobium japonicum"),
        33: ("合欢", "Albizia julibrissin"),
        34: ("紫叶李", "Prunus cerasifera f. atropurpurea"),
        35: ("梅", "Prunus mume"),
        36: ("玉兰", "Yulania denudata"),
        37: ("枫香", "Liquidambar formosana"),
        38: ("重阳木", "Bischofia polycarpa"),
        39: ("杉木", "Cunninghamia lanceolata"),
        40: ("毛竹", "Phyllostachys edulis"),
        41: ("松木原木", "Pinus spp. logs"),
        42: ("杉木原木", "Cunninghamia lanceolata logs"),
        43: ("含松木包装材料", "Pine wood packaging"),
        44: ("草坪", "Turfgrass"),
        45: ("月季", "Rosa chinensis"),
        46: ("茶梅", "Camellia sasanqua"),
        47: ("山茶", "Camellia japonica"),
        48: ("南天竹", "Nandina domestica"),
        49: ("八角金盘", "Fatsia japonica"),
        50: ("金边黄杨", "Euonymus japonicus 'Aureomarginatus'"),
    }
)

#: Units of quantity.
UNITS: Final = MappingProxyType(
    {
        1: "株",
        2: "千克",
        3: "吨",
        4: "立方米",
        5: "件",
        6: "盆",
        7: "袋",
        8: "箱",
        9: "根",
        10: "条",
        11: "张",
        12: "平方米",
        13: "丛",
        14: "枝",
        15: "个",
        16: "穴盘",
    }
)

#: Conveyance types of the official form (fixed list).
CONVEYANCE_TYPES: Final = MappingProxyType(
    {1: "汽车", 2: "火车", 3: "轮船", 4: "飞机", 5: "邮寄", 6: "其他"}
)

#: Kinds of measurement in a specification such as 胸径12-15cm.
SPEC_MEASURES: Final = MappingProxyType(
    {1: "胸径", 2: "高", 3: "地径", 4: "冠幅", 5: "苗高", 6: "蓬径", 7: "长", 8: "径级"}
)
SPEC_UNITS: Final = MappingProxyType({1: "cm", 2: "m", 3: "mm"})

#: Standard issuing statements (检疫结果): code -> (Chinese text, English gloss).
STATEMENTS: Final = MappingProxyType(
    {
        1: (
            "经检疫未发现全国林业检疫性有害生物、本省和调入省补充林业检疫性有害生物及调入省要求检疫的有害生物，同意调运。",
            "Inspected: no national or provincial forestry quarantine pests, nor pests "
            "required by the receiving province, were found; transport approved.",
        ),
        2: (
            "经检疫未发现全国林业检疫性有害生物和本省补充林业检疫性有害生物，同意调运。",
            "Inspected: no national or provincial forestry quarantine pests were found; "
            "transport approved.",
        ),
        3: (
            "经产地检疫，未发现林业检疫性有害生物，准予凭此证换发植物检疫证书。",
            "Producing-area inspection found no forestry quarantine pests; this pass may be "
            "exchanged for a transport certificate.",
        ),
        4: (
            "调入的森林植物及其产品须经产地检疫或调运检疫合格并附植物检疫证书，到达后接受复检。",
            "Plants and plant products brought in must pass producing-area or transport "
            "inspection, travel with a certificate and be re-inspected on arrival.",
        ),
        5: (
            "经复验，工程所用植物材料检疫合格，准予使用。",
            "Re-inspected: the project's plant material passed quarantine and may be used.",
        ),
    }
)


def code_for(table: MappingProxyType[int, str], value: str) -> int | None:
    """The code of ``value`` in a table of plain strings, or ``None``."""
    for code, text in table.items():
        if text == value:
            return code
    return None


def species_code(product: str) -> int | None:
    """The code of a product name in ``SPECIES``, or ``None``."""
    for code, (name, _latin) in SPECIES.items():
        if name == product:
            return code
    return None


def statement_code(text: str) -> int | None:
    """The code of a standard statement text, or ``None``."""
    for code, (zh, _en) in STATEMENTS.items():
        if zh == text:
            return code
    return None
