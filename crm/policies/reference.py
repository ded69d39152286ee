"""The policy catalogue as first delivered: the policies officers explain most often.

Sources: the founding documents named in each entry (国科发火〔2016〕32号, 国科发政〔2017〕115号,
财政部 税务总局公告2023年第7号, 洛市科〔2017〕70号, 豫政办〔2017〕86号, 豫科〔2025〕45号, 国科发区〔2018〕300号,
国科发政字〔2000〕063号, 工信部联规〔2024〕53号 and Henan's 科技副总 action plan). An entry without a
reference is described in general terms. Migrations add the missing entries by name and never
overwrite what administrators have edited since.
"""

import sqlalchemy as sa
from sqlalchemy.engine import Connection

POLICIES = [
    {
        "name": "高新技术企业认定及15%所得税优惠",
        "category": "qualification",
        "summary": "经认定的高新技术企业减按15%税率征收企业所得税，资格有效期三年，未弥补亏损结转年限延长至10年",
        "issuer": "科技部、财政部、国家税务总局",
        "reference": "国科发火〔2016〕32号",
    },
    {
        "name": "科技型中小企业评价入库",
        "category": "qualification",
        "summary": "企业按评价办法在线自主填报，符合条件的入库并取得登记编号，可享亏损结转10年等政策",
        "issuer": "科技部、财政部、国家税务总局",
        "reference": "国科发政〔2017〕115号",
    },
    {
        "name": "研发费用加计扣除",
        "category": "tax",
        "summary": "研发费用未形成无形资产的按实际发生额100%加计扣除，形成无形资产的按成本200%税前摊销",
        "issuer": "财政部、税务总局",
        "reference": "财政部 税务总局公告2023年第7号",
    },
    {
        "name": "科技创新券",
        "category": "tax",
        "summary": "符合条件的企业在线申领创新券，用于购买检验检测、技术研发等科技服务，由财政按规定兑付",
        "issuer": "洛阳市科学技术局",
        "reference": "洛市科〔2017〕70号",
    },
    {
        "name": "高企认定奖补",
        "category": "tax",
        "summary": "对首次认定的高新技术企业，省、市按规定给予一次性奖补，具体标准以当年政策为准",
        "issuer": "河南省科学技术厅、河南省财政厅",
        "reference": "豫政办〔2017〕86号",
    },
    {
        "name": "科技金融/贷款贴息",
        "category": "finance",
        "summary": "科技型企业可向合作银行申请“科技贷”等信贷产品，财政对合作银行给予风险补偿；贴息以当地政策为准",
        "issuer": "河南省科学技术厅、河南省财政厅等",
        "reference": "豫科〔2025〕45号",
    },
    {
        "name": "科技副总",
        "category": "talent",
        "summary": "从高校、科研院所选聘高层次科技人才到企业任科技副总，在同一企业服务不少于两年，协同技术攻关",
        "issuer": "河南省科学技术厅、中共河南省委组织部等七部门",
        "reference": "《河南省“科技副总”三年行动计划（2024—2026年）》",
    },
    {
        "name": "院录企用",
        "category": "talent",
        "summary": "由高校、科研院所录用科技人才并派驻企业使用，帮助企业引进和留住研发人才",
        "issuer": "河南省科技主管部门",
        "reference": "",
    },
    {
        "name": "大型科研仪器共享",
        "category": "platform",
        "summary": "高校院所等单位的重大科研设施和大型科研仪器向社会开放，企业可通过共享平台预约使用",
        "issuer": "国务院",
        "reference": "《国务院关于国家重大科研基础设施和大型科研仪器向社会开放的意见》",
    },
    {
        "name": "工业领域设备更新",
        "category": "other",
        "summary": "支持企业更新先进设备、推进数字化转型和绿色化改造，符合条件的项目可获财政资金和技术改造再贷款支持",
        "issuer": "工业和信息化部、国家发展改革委、财政部、中国人民银行、税务总局、市场监管总局、金融监管总局",
        "reference": "工信部联规〔2024〕53号",
    },
    {
        "name": "科技服务综合体",
        "category": "platform",
        "summary": "整合政策、人才、成果、金融等科技服务资源，为企业提供一站式科技服务和线上申报对接",
        "issuer": "河南省科技主管部门",
        "reference": "",
    },
    {
        "name": "工程技术研究中心/重点实验室建设",
        "category": "platform",
        "summary": "具备研发条件的企业可申报省、市级工程技术研究中心或重点实验室，经认定后纳入创新平台管理并可获支持",
        "issuer": "河南省科学技术厅",
        "reference": "",
    },
    {
        "name": "科技企业孵化器/众创空间",
        "category": "platform",
        "summary": "孵化器（含众创空间）为科技型创业企业提供场地、共享设施、技术和投融资等服务，符合条件的可申请备案",
        "issuer": "科技部",
        "reference": "国科发区〔2018〕300号",
    },
    {
        "name": "技术合同登记",
        "category": "transfer",
        "summary": "技术开发、转让、咨询、服务合同可向技术合同登记机构申请认定登记，登记后按规定享受相关税收优惠",
        "issuer": "科技部、财政部、国家税务总局",
        "reference": "国科发政字〔2000〕063号",
    },
    {
        "name": "企业科技特派员",
        "category": "talent",
        "summary": "选派高校、科研院所科技人员入驻企业，开展技术攻关、成果转化和人才培养等服务",
        "issuer": "省、市科技主管部门",
        "reference": "",
    },
    {
        "name": "创新创业领军人才",
        "category": "talent",
        "summary": "对引进或培育的创新创业领军人才（团队）经评审给予项目资助等支持，按年度组织申报",
        "issuer": "中共洛阳市委、洛阳市人民政府",
        "reference": "",
    },
]

policies_table = sa.table(
    "policies",
    sa.column("name", sa.String),
    sa.column("category", sa.String),
    sa.column("summary", sa.String),
    sa.column("issuer", sa.String),
    sa.column("reference", sa.String),
    sa.column("active", sa.Boolean),
    sa.column("position", sa.Integer),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)


def seed_policies(connection: Connection) -> None:
    """Add the catalogue entries that are missing, by name."""
    from crm.db import utcnow

    existing = set(connection.scalars(sa.select(policies_table.c.name)))
    now = utcnow()
    for position, policy in enumerate(POLICIES, start=1):
        if policy["name"] not in existing:
            connection.execute(
                policies_table.insert().values(
                    **policy, active=True, position=position, created_at=now, updated_at=now
                )
            )
