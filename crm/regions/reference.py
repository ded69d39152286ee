"""Reference regions: 洛阳市, its 14 county-level divisions and some townships of each.

Source: 国家统计局《2023年统计用区划代码和城乡划分代码》 (cut-off 2023-06-30); township codes
are the first 9 digits of the 12-digit statistical code. Migrations load these rows; a later
change to this list comes with a migration that calls `sync_regions` again.
"""

import sqlalchemy as sa
from sqlalchemy.engine import Connection

CITY = ("410300", "洛阳市")

COUNTIES = [
    ("410302", "老城区"),
    ("410303", "西工区"),
    ("410304", "瀍河回族区"),
    ("410305", "涧西区"),
    ("410307", "偃师区"),
    ("410308", "孟津区"),
    ("410311", "洛龙区"),
    ("410323", "新安县"),
    ("410324", "栾川县"),
    ("410325", "嵩县"),
    ("410326", "汝阳县"),
    ("410327", "宜阳县"),
    ("410328", "洛宁县"),
    ("410329", "伊川县"),
]

TOWNSHIPS = {
    "410302": [
        ("410302001", "西关街道"),
        ("410302002", "西南隅街道"),
        ("410302003", "西北隅街道"),
        ("410302004", "东南隅街道"),
        ("410302005", "东北隅街道"),
    ],
    "410303": [
        ("410303001", "王城路街道"),
        ("410303002", "金谷园路街道"),
        ("410303003", "西工街道"),
        ("410303004", "邙岭路街道"),
    ],
    "410304": [
        ("410304001", "东关街道"),
        ("410304002", "瀍西街道"),
        ("410304003", "五股路街道"),
        ("410304004", "北窑街道"),
        ("410304005", "塔湾街道"),
    ],
    "410305": [
        ("410305001", "湖北路街道"),
        ("410305002", "天津路街道"),
        ("410305003", "长春路街道"),
        ("410305004", "南昌路街道"),
        ("410305005", "长安路街道"),
    ],
    "410307": [
        ("410307004", "首阳山街道"),
        ("410307005", "商城街道"),
        ("410307006", "槐新街道"),
        ("410307007", "伊洛街道"),
        ("410307103", "翟镇镇"),
    ],
    "410308": [
        ("410308002", "西霞院街道"),
        ("410308003", "康乐街道"),
        ("410308004", "吉利街道"),
        ("410308005", "河阳街道"),
        ("410308101", "会盟镇"),
    ],
    "410311": [
        ("410311002", "开元路街道"),
        ("410311003", "龙门石窟街道"),
        ("410311004", "关林街道"),
        ("410311005", "太康东路街道"),
        ("410311006", "古城街道"),
    ],
    "410323": [
        ("410323001", "汉关街道"),
        ("410323101", "石寺镇"),
        ("410323102", "五头镇"),
        ("410323103", "磁涧镇"),
        ("410323104", "铁门镇"),
    ],
    "410324": [
        ("410324001", "耕莘街道"),
        ("410324101", "赤土店镇"),
        ("410324102", "合峪镇"),
        ("410324103", "潭头镇"),
        ("410324104", "三川镇"),
    ],
    "410325": [
        ("410325100", "城关镇"),
        ("410325101", "田湖镇"),
        ("410325102", "旧县镇"),
        ("410325103", "车村镇"),
        ("410325104", "闫庄镇"),
    ],
    "410326": [
        ("410326100", "城关镇"),
        ("410326101", "上店镇"),
        ("410326102", "付店镇"),
        ("410326103", "小店镇"),
    ],
    "410327": [
        ("410327001", "兴宜街道"),
        ("410327102", "柳泉镇"),
        ("410327103", "韩城镇"),
        ("410327104", "白杨镇"),
        ("410327105", "香鹿山镇"),
    ],
    "410328": [
        ("410328001", "永宁街道"),
        ("410328101", "王范回族镇"),
        ("410328102", "上戈镇"),
        ("410328103", "下峪镇"),
        ("410328104", "河底镇"),
    ],
    "410329": [
        ("410329001", "城关街道"),
        ("410329002", "河滨街道"),
        ("410329101", "鸣皋镇"),
        ("410329102", "水寨镇"),
        ("410329103", "彭婆镇"),
    ],
}

# A table clause of the columns the rows need, so migrations do not depend on the current model.
regions_table = sa.table(
    "regions",
    sa.column("code", sa.String),
    sa.column("name", sa.String),
    sa.column("level", sa.String),
    sa.column("parent_code", sa.String),
)


def reference_rows() -> list[dict[str, str | None]]:
    """Every reference region, parents before children."""
    city_code, city_name = CITY
    rows: list[dict[str, str | None]] = [
        {"code": city_code, "name": city_name, "level": "city", "parent_code": None}
    ]
    for code, name in COUNTIES:
        rows.append({"code": code, "name": name, "level": "county", "parent_code": city_code})
    for county, townships in TOWNSHIPS.items():
        for code, name in townships:
            rows.append({"code": code, "name": name, "level": "township", "parent_code": county})
    return rows


def sync_regions(connection: Connection) -> None:
    """Insert missing reference regions and correct the names of existing ones."""
    existing = dict(connection.execute(sa.select(regions_table.c.code, regions_table.c.name)).all())
    for row in reference_rows():
        if row["code"] not in existing:
            connection.execute(regions_table.insert().values(**row))
        elif existing[row["code"]] != row["name"]:
            connection.execute(
                regions_table.update()
                .where(regions_table.c.code == row["code"])
                .values(name=row["name"])
            )
