"""The pages' words in Chinese (first) and English, and which language a visitor reads.

The language is ``zh`` unless the query parameter ``lang=en`` (which also sets the
``lang`` cookie for a year) or that cookie says otherwise; ``lang=zh`` switches back.
Every word a page shows comes from :data:`WORDS`; the reason and hint catalogues
(:mod:`quarantine.core.reasons`, :mod:`quarantine.imaging.hints`) carry their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Literal

from starlette.requests import Request

Lang = Literal["zh", "en"]
LANGS: Final[tuple[Lang, ...]] = ("zh", "en")
COOKIE: Final = "lang"
COOKIE_MAX_AGE: Final = 365 * 24 * 3600

WORDS: Final = MappingProxyType(
    {
        # layout
        "site": ("植物检疫证书核验", "Plant quarantine certificate check"),
        "site_short": ("检疫证书核验", "Certificate check"),
        "nav_scan": ("扫码核验", "Scan"),
        "skip": ("跳到正文", "Skip to content"),
        "footer": (
            "长三角植物检疫证书 · 签名二维码核验",
            "Yangtze River Delta plant-quarantine certificates · signed QR verification",
        ),
        # verdicts
        "verdict_valid": ("证书真实有效", "Genuine and valid"),
        "verdict_invalid": ("证书无效", "Not valid"),
        "verdict_notcert": ("不是检疫证书", "Not a quarantine certificate"),
        "verdict_unavailable": ("暂时无法核验", "Cannot be checked now"),
        "lead_valid": (
            "签名真实，证书在有效期内。请核对下列内容与货物、车辆是否一致。",
            "The signature is genuine and the certificate is in force. "
            "Compare the details below with the load and the vehicle.",
        ),
        "lead_invalid": (
            "请勿凭此证书放行或收货。原因如下。",
            "Do not accept the load on this certificate. The reasons follow.",
        ),
        "lead_notcert": (
            "扫描到的二维码不是植物检疫证书。",
            "The scanned QR code is not a plant-quarantine certificate.",
        ),
        "lead_unavailable": (
            "核验服务暂时无法完成检查，请稍后再试。这不代表证书有问题。",
            "The service could not complete the check; try again later. "
            "This says nothing against the certificate.",
        ),
        "reasons": ("原因", "Reasons"),
        "all_checked": (
            "签名、密钥、有效期与登记状态均已核对",
            "Signature, key, validity and registry status checked",
        ),
        "host_warning_title": ("注意：网址不是已知的核验网址", "Warning: unknown web address"),
        "host_warning": (
            "二维码中的网址 {host} 不是长三角检疫互认成员公布的核验网址。"
            "此页面按证书签名核验内容，但请勿在该网址输入任何信息。",
            "The address {host} in the QR code is not a verification address published by "
            "a member of the federation. This page checked the signed content, but do not "
            "enter anything on that site.",
        ),
        # certificate fields
        "compare": ("请与货物核对", "Compare with the load"),
        "number": ("证书编号", "Certificate No."),
        "kind": ("证书种类", "Kind"),
        "scope_INTRA_PROVINCE": ("省内", "within the province"),
        "scope_INTER_PROVINCE": ("出省", "to another province"),
        "consignor": ("调运单位（人）", "Consignor"),
        "consignee": ("收货单位（人）", "Consignee"),
        "producer": ("生产单位（人）", "Producer"),
        "origin": ("产地", "Origin"),
        "vehicle": ("运输工具", "Vehicle"),
        "route": ("运输起讫", "Route"),
        "validity": ("有效期", "Valid"),
        "valid_until": ("至", "to"),
        "category": ("品类", "Category"),
        "project": ("工程", "Project"),
        "references": ("关联证书", "References"),
        "original": ("原证书", "Original certificate"),
        "items": ("货物", "Goods"),
        "product": ("品名", "Product"),
        "variety": ("品种", "Variety"),
        "specification": ("规格", "Specification"),
        "quantity": ("数量", "Quantity"),
        "issuer": ("签发机关", "Issuing agency"),
        "delegating": ("委托机关", "Delegating agency"),
        "officer": ("检疫员", "Officer"),
        "issued_at": ("签发时间", "Issued at"),
        "key": ("签名密钥", "Signing key"),
        # registry status
        "registry": ("登记状态", "Registry status"),
        "reg_ok": ("登记系统中有效", "In force in the registry"),
        "reg_revoked": ("已撤销", "Revoked"),
        "reg_superseded": ("已换发新证", "Superseded"),
        "reg_superseded_by": ("新证书编号", "Replaced by"),
        "reg_suspended": ("已暂停使用", "Suspended"),
        "reg_closed": ("货物已到达，证书已核销", "Closed: the load has arrived"),
        "reg_unknown": ("登记系统中没有此证书", "Not in the registry"),
        "reg_unchecked": ("未查询登记状态（离线核验）", "Registry status not checked (offline)"),
        "reg_reason": ("原因", "Reason"),
        "reg_as_of": ("状态截至", "Status as of"),
        "checked_at": ("核验时间", "Checked at"),
        "tz": ("（北京时间）", " (China time)"),
        # scan
        "scan_title": ("扫码核验", "Scan and verify"),
        "scan_intro": (
            "用手机拍摄证书上的二维码，或上传照片。一张照片里可以有多个二维码。",
            "Photograph the certificate's QR code or upload a picture. "
            "One picture may hold several codes.",
        ),
        "live_title": ("实时扫描", "Live scan"),
        "live_start": ("打开相机扫描", "Start the camera"),
        "live_stop": ("停止", "Stop"),
        "live_hint": (
            "将二维码放在取景框内，识别后自动核验。",
            "Hold the QR code inside the frame; it is checked as soon as it is read.",
        ),
        "live_denied": (
            "无法打开相机，请改用拍照上传。",
            "The camera could not be opened; take a photo instead.",
        ),
        "photo_title": ("拍照或上传照片", "Take or upload a photo"),
        "photo_label": ("证书照片", "Photo of the certificate"),
        "photo_submit": ("核验照片", "Verify the photo"),
        "photo_limit": ("照片不超过 {mb} MB。", "Photos up to {mb} MB."),
        "text_title": ("输入二维码内容", "Enter the QR text"),
        "text_label": ("二维码文本或核验网址", "QR text or verification URL"),
        "text_submit": ("核验", "Verify"),
        "result_title": ("核验结果", "Result"),
        "codes_found": ("照片中找到 {n} 个二维码", "{n} QR code(s) found in the photo"),
        "code_n": ("二维码 {i}", "QR code {i}"),
        "none_found": ("照片中没有识别到二维码", "No QR code was read in the photo"),
        "hints": ("建议", "Suggestions"),
        "decode_ms": ("识别用时 {ms} 毫秒", "Read in {ms} ms"),
        "scan_again": ("再扫一张", "Scan another"),
        "details": ("查看详情", "Details"),
        # consoles
        "console": ("工作台", "Console"),
        "nav_alerts": ("重复使用预警", "Reuse alerts"),
        "nav_trace": ("追溯", "Trace"),
        "nav_operators": ("经营者信用", "Operator credit"),
        "nav_recognition": ("互认查询", "Recognition"),
        "nav_stats": ("统计", "Statistics"),
        "nav_producing_area": ("产地检疫清单", "Producing-area list"),
        "nav_registrations": ("检疫登记", "Registrations"),
        "nav_projects": ("工程复验", "Greening projects"),
        # shared lists and greening projects (console)
        "look_up": ("查询", "Look up"),
        "rows_n": ("共 {n} 条", "{n} found"),
        "today_is": ("今天（北京时间）：{day}", "Today (China time): {day}"),
        "region_filter": ("地区代码（省、市或区县）", "Region code (province, city or district)"),
        "region_hint": (
            "省级代码含其全部市县，如 320000 为江苏全省",
            "A province's code covers its districts, e.g. 320000 for all of Jiangsu",
        ),
        "pa_title": ("共用产地检疫清单", "Shared producing-area list"),
        "pa_intro": (
            "长三角四地今日有效的产地检疫合格证（本节点与已同步的成员节点共享）",
            "Producing-area passes of the four regions valid today "
            "(this node's and those shared by the members it has pulled)",
        ),
        "pa_operator": ("生产经营者（名称或登记号）", "Operator (name or registration No.)"),
        "pa_species": ("植物名称", "Species"),
        "pa_expiring": ("N 天内到期", "Expiring within N days"),
        "pa_days_left": ("剩余天数", "Days left"),
        "pa_issued_by": ("签发地区", "Issued in"),
        "reg_title": ("检疫登记全覆盖", "Operator registrations of the four regions"),
        "reg_intro": (
            "长三角四地登记的生产经营者及其互认限制",
            "Operators registered in the four regions, and any bar on recognition",
        ),
        "reg_name_filter": ("名称或登记号", "Name or registration No."),
        "registration_no": ("检疫登记号", "Registration No."),
        "operator_name": ("名称", "Name"),
        "operator_region": ("所在地区", "Region"),
        "registered_on": ("登记日期", "Registered on"),
        "shared_by": ("共享节点", "Shared by"),
        "bar": ("互认限制", "Bar on recognition"),
        "barred_now": ("暂停互认", "barred"),
        "not_barred": ("正常", "not barred"),
        "bar_period": ("{start} 至 {end}", "{start} to {end}"),
        "bar_from": ("自 {start} 起，未定结束日期", "from {start}, no end date"),
        "credit_link": ("信用", "Credit"),
        "prj_title": ("工程植物检疫复验", "Greening-project re-inspection"),
        "prj_intro": (
            "输入工程编号（登记工程时返回，如 prj_0123456789abcdef）查看其植物材料、"
            "复验结果及复验证书能否签发，或从本辖区工程列表中选择。",
            "Enter a project's ID (given when it was registered, e.g. prj_0123456789abcdef) "
            "to see its plant material, the re-inspections and whether its certificate "
            "can be issued, or pick one from the district's projects.",
        ),
        "prj_id": ("工程编号", "Project ID"),
        "prj_list_title": ("本辖区绿化工程", "Greening projects of the district"),
        "prj_name": ("工程名称", "Project"),
        "prj_materials_n": ("植物材料批数", "Batches"),
        "prj_state": ("复验证书", "Certificate"),
        "prj_state_ISSUED": ("已签发", "Issued"),
        "prj_none": ("本辖区尚无绿化工程", "No projects in this district yet"),
        "prj_district": ("所在区县", "District"),
        "prj_contractor": ("施工单位", "Contractor"),
        "prj_site": ("施工地点", "Site"),
        "prj_created": ("登记时间", "Registered at"),
        "prj_materials": ("植物材料", "Plant material"),
        "prj_goods": ("货物", "Goods"),
        "prj_source": ("登记方式", "Entered as"),
        "prj_source_NUMBER": ("证书编号", "certificate number"),
        "prj_source_QR": ("扫描二维码", "scanned QR"),
        "prj_check": ("种植时核验", "Check at planting"),
        "prj_accepted": ("有效并获认可", "valid and recognised"),
        "prj_refused": ("未获认可", "not recognised"),
        "prj_reinspection": ("现场复验", "Re-inspection"),
        "prj_not_reinspected": ("尚未复验", "not yet"),
        "prj_certificate": ("工程复验证书", "Project certificate"),
        "prj_certified": ("已签发：{number}", "Issued: {number}"),
        "prj_state_READY": ("可以签发", "Ready to be issued"),
        "prj_state_PENDING": ("等待复验", "Waiting for re-inspection"),
        "prj_state_FAILED": ("不能签发", "Cannot be issued"),
        "prj_state_EMPTY": ("尚无植物材料", "No material yet"),
        "prj_blocked": ("尚不能签发，原因：", "It cannot be issued yet:"),
        "prj_ready": (
            "全部植物材料均已复验合格，签发员可以签发工程复验证书。",
            "Every batch passed its re-inspection; an issuer can issue the project certificate.",
        ),
        "signin_title": ("登录工作台", "Sign in to the console"),
        "signin_intro": (
            "使用签发员或检查员的 API 令牌登录。令牌仅保存在本浏览器的会话 Cookie 中。",
            "Sign in with an issuer's or inspector's API token. It is kept only in this "
            "browser's session cookie.",
        ),
        "token": ("API 令牌", "API token"),
        "signin": ("登录", "Sign in"),
        "signout": ("退出登录", "Sign out"),
        "signed_in_as": ("当前登录：{role}，地区 {region}", "Signed in as {role}, region {region}"),
        "role_issuer": ("签发员", "issuer"),
        "role_inspector": ("检查员", "inspector"),
        "role_admin": ("管理员", "administrator"),
        "issue": ("签发证书", "Issue a certificate"),
        "issue_kind": ("选择证书种类", "Choose the kind"),
        "search": ("查询证书", "Search certificates"),
        "verify_photo": ("拍照核验", "Verify by photo"),
        "required": ("必填", "required"),
        "goods": ("货物（最多 10 项）", "Goods (up to 10 lines)"),
        "preview": ("预览", "Preview"),
        "preview_title": ("预览（尚未签发、未签名）", "Preview (not issued, not signed)"),
        "preview_ok": (
            "内容检查通过，可以签发。",
            "The content passed every check; it can be issued.",
        ),
        "issue_now": ("签发并签名", "Issue and sign"),
        "problems": ("请修改以下内容", "Please correct the following"),
        "issued_ok": ("证书已签发：{number}", "Certificate issued: {number}"),
        "done_ok": ("已完成", "Done"),
        "print_view": ("打印视图（A4，含二维码）", "Print view (A4 with the QR)"),
        "qr_png": ("二维码图片", "QR image"),
        "public_page": ("公众核验页面", "Public verification page"),
        "status": ("当前状态", "Status now"),
        "status_VALID": ("有效", "valid"),
        "status_REVOKED": ("已撤销", "revoked"),
        "status_SUPERSEDED": ("已换发", "superseded"),
        "status_CLOSED": ("已到达核销", "closed on arrival"),
        "status_SUSPENDED": ("已暂停", "suspended"),
        "status_EXPIRED": ("已过期", "expired"),
        "status_NOT_YET_VALID": ("尚未生效", "not yet valid"),
        "history": ("历史记录", "History"),
        "events": ("状态事件与复检", "Status events and re-inspections"),
        "scans": ("扫描记录", "Scans"),
        "no_entries": ("暂无记录", "None yet"),
        "when": ("时间", "When"),
        "what": ("事件", "Event"),
        "who": ("操作人", "By"),
        "where": ("地点", "Where"),
        "event_REVOKED": ("撤销", "revoked"),
        "event_SUPERSEDED": ("换发", "superseded"),
        "event_SUSPENDED": ("暂停", "suspended"),
        "event_REINSTATED": ("恢复", "reinstated"),
        "event_REINSPECTED": ("复检", "re-inspected"),
        "event_ARRIVED": ("到达查验合格，核销", "arrived, accepted: closed"),
        "record": ("登记内容", "Registry record"),
        "change_status": ("撤销 / 暂停 / 恢复", "Revoke / suspend / reinstate"),
        "action": ("操作", "Action"),
        "act_revoke": ("撤销（不可恢复）", "Revoke (final)"),
        "act_suspend": ("暂停", "Suspend"),
        "act_reinstate": ("恢复", "Reinstate"),
        "reason_label": ("原因", "Reason"),
        "submit": ("提交", "Submit"),
        "supersede": ("换发新证", "Re-issue (supersede)"),
        "supersede_title": ("换发证书 {number}", "Re-issue certificate {number}"),
        "supersede_reason": ("换发原因", "Reason for the re-issue"),
        "arrival": ("到达查验", "Arrival check"),
        "accepted": ("货证相符，接收（核销证书）", "Load matches: accept (closes the certificate)"),
        "rejected": (
            "不符，拒收（记录复检不合格）",
            "Does not match: reject (records a failed re-inspection)",
        ),
        "reinspection": ("记录复检", "Record a re-inspection"),
        "result": ("结果", "Result"),
        "passed": ("合格", "passed"),
        "failed": ("不合格", "failed"),
        "checkpoint": ("检查站", "Checkpoint"),
        "notes": ("说明", "Notes"),
        "region_code": ("地区代码", "Region code"),
        "plate": ("车牌号", "Vehicle plate"),
        "device_lon": ("设备经度（可选）", "Device longitude (optional)"),
        "device_lat": ("设备纬度（可选）", "Device latitude (optional)"),
        "results_n": ("共 {n} 份", "{n} found"),
        "page_n": ("第 {page} / {pages} 页", "Page {page} of {pages}"),
        "prev": ("上一页", "Previous"),
        "next": ("下一页", "Next"),
        "any": ("全部", "any"),
        "open": ("打开", "Open"),
        "scan_place": ("核验地点（记录在扫描记录中）", "Where you check (kept with the scan)"),
        "not_allowed": ("当前令牌无权进行此操作", "This token may not do that"),
        # errors
        "error_title": ("无法处理请求", "The request could not be handled"),
        "error_code": ("原因代码", "Reason code"),
        "back": ("返回", "Back"),
        "not_found": ("页面不存在", "Page not found"),
    }
)


def resolve(request: Request) -> tuple[Lang, bool]:
    """The visitor's language, and whether the response should set the cookie."""
    asked = request.query_params.get("lang", "")
    if asked in LANGS:
        return ("en" if asked == "en" else "zh"), request.cookies.get(COOKIE) != asked
    return ("en" if request.cookies.get(COOKIE) == "en" else "zh"), False


@dataclass(frozen=True)
class Translator:
    """Words in the visitor's language (``t``) and in the other one (``alt``)."""

    lang: Lang

    @property
    def other(self) -> Lang:
        return "zh" if self.lang == "en" else "en"

    @property
    def html_lang(self) -> str:
        return "en" if self.lang == "en" else "zh-CN"

    def t(self, key: str, **fields: object) -> str:
        zh, en = WORDS[key]
        text = en if self.lang == "en" else zh
        return text.format(**fields) if fields else text

    def alt(self, key: str, **fields: object) -> str:
        zh, en = WORDS[key]
        text = zh if self.lang == "en" else en
        return text.format(**fields) if fields else text

    def pick(self, zh: str, en: str) -> str:
        """One of two given texts (catalogues that carry their own words)."""
        return en if self.lang == "en" else zh

    def pick_alt(self, zh: str, en: str) -> str:
        return zh if self.lang == "en" else en
