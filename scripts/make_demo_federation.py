"""(Re)build the DEMO federation: keys, trust list and the package's copy.

DEMO ONLY.  The private keys written here are unencrypted and published in the
repository so that anyone can regenerate the samples; they must never sign a
real certificate.  Existing keys are kept (run with ``--new-keys`` to replace
them); the signed trust list is rebuilt deterministically from them.

    python scripts/make_demo_federation.py
"""

from __future__ import annotations

import argparse
import json
import shutil
from datetime import date, datetime
from pathlib import Path

from quarantine import keystore
from quarantine.core.keys import ALG_EDDSA, ALG_ES256, Signer
from quarantine.core.model import CHINA_TZ
from quarantine.core.trust import Member, TrustedKey, TrustList, sign_trust_list

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "keys" / "demo"
PACKAGE_DEMO = ROOT / "quarantine" / "data" / "demo"
HOSTS = ("127.0.0.1:8000", "localhost:8000")


def t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CHINA_TZ)


MEMBERS = (
    Member(
        "310000",
        "上海市林业总站",
        "Shanghai Forestry Station",
        date(2024, 1, 1),
        hosts=HOSTS,
        agencies={
            "310000": "上海市林业总站",
            "310115": "上海市浦东新区林业站",
            "310112": "上海市闵行区林业站",
        },
    ),
    Member(
        "320000",
        "江苏省林业有害生物防治检疫站",
        "Jiangsu Forest Pest Control and Quarantine Station",
        date(2024, 1, 1),
        hosts=HOSTS,
        agencies={
            "320000": "江苏省林业有害生物防治检疫站",
            "320583": "昆山市林业站",
            "320506": "苏州市吴中区林业站",
        },
    ),
    Member(
        "330000",
        "浙江省森林病虫害防治总站",
        "Zhejiang Forest Disease and Pest Control Station",
        date(2024, 1, 1),
        hosts=HOSTS,
        agencies={"330000": "浙江省森林病虫害防治总站", "330109": "杭州市萧山区林业植物检疫站"},
    ),
    Member(
        "340000",
        "安徽省林业有害生物防治检疫局",
        "Anhui Forest Pest Control and Quarantine Bureau",
        date(2024, 1, 1),
        hosts=HOSTS,
        agencies={"340000": "安徽省林业有害生物防治检疫局", "340104": "合肥市蜀山区林业站"},
    ),
)

#: (label, region, alg, not_before, not_after).  Shanghai's first key was
#: rotated out on 2026-06-30; Anhui signs with ES256 to exercise both algorithms.
KEYS = (
    ("sh-2024", "310000", ALG_EDDSA, t("2024-01-01T00:00:00"), t("2026-06-30T23:59:59")),
    ("sh-2026", "310000", ALG_EDDSA, t("2026-07-01T00:00:00"), None),
    ("js-2024", "320000", ALG_EDDSA, t("2024-01-01T00:00:00"), None),
    ("zj-2024", "330000", ALG_EDDSA, t("2024-01-01T00:00:00"), None),
    ("ah-2024", "340000", ALG_ES256, t("2024-01-01T00:00:00"), None),
)


def ensure_keys(new_keys: bool) -> dict[str, keystore.KeyInfo]:
    labels_path = DEMO / "labels.json"
    labels: dict[str, str] = (
        json.loads(labels_path.read_text()) if labels_path.exists() and not new_keys else {}
    )
    if new_keys and DEMO.exists():
        shutil.rmtree(DEMO)
    DEMO.mkdir(parents=True, exist_ok=True)
    by_kid = {k.kid: k for k in keystore.list_keys(DEMO)}
    out: dict[str, keystore.KeyInfo] = {}
    for label, region, alg, nb, na in KEYS:
        kid = labels.get(label)
        if kid and kid in by_kid:
            out[label] = by_kid[kid]
            continue
        out[label] = keystore.generate_key(
            DEMO, region, not_before=nb, not_after=na, alg=alg, demo=True
        )
    labels_path.write_text(json.dumps({k: v.kid for k, v in out.items()}, indent=2) + "\n")
    return out


def ensure_root(new_keys: bool) -> Signer:
    path = DEMO / "root.DEMO.key.pem"
    if path.exists() and not new_keys:
        return Signer.from_pem(path.read_bytes(), None)
    root = Signer.generate()
    path.write_bytes(root.to_pem(None))
    (DEMO / "root.pub.pem").write_bytes(root.public.to_pem())
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--new-keys", action="store_true", help="replace every demo key")
    args = parser.parse_args()
    keys = ensure_keys(args.new_keys)
    root = ensure_root(args.new_keys)
    trusted = tuple(
        TrustedKey(info.region, keystore.load_public(info), info.not_before, info.not_after)
        for info in keys.values()
    )
    trust = TrustList(
        version=1,
        issued_at=t("2026-11-01T00:00:00"),
        expires_at=t("2028-12-31T23:59:59"),
        members=MEMBERS,
        keys=trusted,
    )
    blob = sign_trust_list(trust, root)
    (DEMO / "trust-list.cose").write_bytes(blob)
    (DEMO / "trust-list.json").write_text(
        json.dumps(trust.to_document(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    PACKAGE_DEMO.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(DEMO / "trust-list.cose", PACKAGE_DEMO / "trust-list.cose")
    shutil.copyfile(DEMO / "root.pub.pem", PACKAGE_DEMO / "root.pub.pem")
    print(f"demo federation: {len(trusted)} keys, trust list {len(blob)} bytes in {DEMO}")


if __name__ == "__main__":
    main()
