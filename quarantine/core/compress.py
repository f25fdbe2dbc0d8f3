"""Optional DEFLATE compression of the COSE bytes, with a preset dictionary.

The first payload byte says how the rest is stored (high nibble: payload format
version, low nibble: compression):

====  ==============================================
0x10  COSE_Sign1 as is
0x11  raw DEFLATE (RFC 1951, zlib with ``wbits=-15``)
0x12  raw DEFLATE with preset dictionary v1
====  ==============================================

The encoder picks the shortest.  Decompression is bounded: output beyond
``max_output`` bytes is refused before it is produced (no zlib bomb).
"""

from __future__ import annotations

import zlib
from typing import Final

from quarantine.errors import InputError, LimitExceeded

FORMAT_RAW: Final = 0x10
FORMAT_DEFLATE: Final = 0x11
FORMAT_DEFLATE_DICT1: Final = 0x12
DEFAULT_MAX_OUTPUT: Final = 4096

_WORDS_V1: Final = (
    "省市县区镇乡街道路号村组园林绿化工程建设管理养护服务景观生态环境科技发展农业林业花卉苗木"
    "种苗花木苗圃基地合作社专业合作社家庭农场有限公司有限责任公司股份有限公司集团"
    "检疫站森林病虫害防治站植物检疫站林业站"
    "上海市浦东新区闵行区嘉定区松江区青浦区奉贤区金山区宝山区崇明区"
    "江苏省南京市苏州市无锡市常州市南通市扬州市宿迁市"
    "浙江省杭州市萧山区余杭区宁波市温州市嘉兴市湖州市绍兴市金华市台州市"
    "安徽省合肥市芜湖市安庆市滁州市宣城市黄山市"
    "沪苏浙皖"
)
#: Preset dictionary v1: common words of Delta certificates, as the codec
#: writes them (GB 18030).  Frozen: a new word list makes a new version.
DICTIONARY_V1: Final = _WORDS_V1.encode("gb18030")


class PayloadFormatError(InputError):
    """Payload bytes whose container cannot be read."""


def _deflate(data: bytes, zdict: bytes | None) -> bytes:
    if zdict is None:
        comp = zlib.compressobj(9, zlib.DEFLATED, -15, 9)
    else:
        comp = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, zdict)
    return comp.compress(data) + comp.flush()


def pack(cose: bytes, *, compress: bool = True) -> bytes:
    """Prefix the format byte; compress when that is shorter."""
    best = bytes([FORMAT_RAW]) + cose
    if compress:
        for fmt, zdict in ((FORMAT_DEFLATE, None), (FORMAT_DEFLATE_DICT1, DICTIONARY_V1)):
            candidate = bytes([fmt]) + _deflate(cose, zdict)
            if len(candidate) < len(best):
                best = candidate
    return best


def unpack(payload: bytes, *, max_output: int = DEFAULT_MAX_OUTPUT) -> bytes:
    """The COSE bytes inside ``payload``; bounded, strict."""
    if not payload:
        raise PayloadFormatError("PAYLOAD_EMPTY", "载荷为空", "payload is empty")
    fmt, body = payload[0], payload[1:]
    if fmt == FORMAT_RAW:
        if len(body) > max_output:
            raise LimitExceeded("PAYLOAD_TOO_LARGE", "载荷过大", "payload exceeds the size limit")
        return body
    if fmt == FORMAT_DEFLATE:
        zdict: bytes | None = None
    elif fmt == FORMAT_DEFLATE_DICT1:
        zdict = DICTIONARY_V1
    else:
        raise PayloadFormatError(
            "PAYLOAD_FORMAT_UNKNOWN", "未知的载荷格式版本", f"unknown payload format 0x{fmt:02x}"
        )
    decomp = zlib.decompressobj(-15, zdict) if zdict is not None else zlib.decompressobj(-15)
    try:
        out = decomp.decompress(body, max_output + 1)
    except zlib.error as exc:
        raise PayloadFormatError(
            "DECOMPRESSION_FAILED", "载荷解压失败", f"payload does not decompress: {exc}"
        ) from exc
    if len(out) > max_output or decomp.unconsumed_tail:
        raise LimitExceeded(
            "DECOMPRESSED_TOO_LARGE",
            "解压后数据超过上限",
            f"decompressed payload exceeds {max_output} bytes",
        )
    if not decomp.eof:
        raise PayloadFormatError(
            "DECOMPRESSION_FAILED", "压缩数据不完整", "compressed payload is truncated"
        )
    if decomp.unused_data:
        raise PayloadFormatError(
            "TRAILING_BYTES",
            "压缩数据之后有多余字节",
            "trailing bytes after the compressed payload",
        )
    return out
