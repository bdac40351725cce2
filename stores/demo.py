"""A believable demo chain, created idempotently: 2 regions, 6 stores in two time zones,
2–3 terminals each, ~30 staff and ~300 products in a category tree with brands.

Everything goes through the domain's own functions (so it is validated and audited like a
real set-up); running it again creates nothing twice.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from stores import catalog, chain, staff, terminals
from stores.access import Actor
from stores.tables import Brand, Category, Product, Region, Staff, Store, Terminal

DEMO_PASSWORD = "memberpos-demo"
DEMO_MANAGER_PIN = "2468"
HQ_ADMIN = ("H0001", "王芳")
HQ_ANALYST = ("H0002", "李强")

REGIONS = [("EAST", "华东区"), ("WEST", "西北区")]
STORES = [
    # code, name, region, time zone, address, terminals
    ("SH001", "上海南京东路店", "EAST", "Asia/Shanghai", "上海市黄浦区南京东路 300 号", 3),
    ("SH002", "上海徐家汇店", "EAST", "Asia/Shanghai", "上海市徐汇区虹桥路 1 号", 3),
    ("HZ001", "杭州湖滨店", "EAST", "Asia/Shanghai", "杭州市上城区湖滨路 20 号", 2),
    ("SZ001", "苏州观前街店", "EAST", "Asia/Shanghai", "苏州市姑苏区观前街 88 号", 2),
    ("UR001", "乌鲁木齐友好店", "WEST", "Asia/Urumqi", "乌鲁木齐市沙依巴克区友好南路 668 号", 3),
    ("KS001", "喀什古城店", "WEST", "Asia/Urumqi", "喀什市吐曼路 9 号", 2),
]
SURNAMES = "张王李赵刘陈杨黄周吴徐孙马朱胡郭何林罗高"
GIVEN = [
    "伟",
    "静",
    "磊",
    "敏",
    "洋",
    "艳",
    "勇",
    "娟",
    "杰",
    "丽",
    "涛",
    "霞",
    "超",
    "婷",
    "明",
    "雪",
    "斌",
    "倩",
    "阿依古丽",
    "买买提",
]

# (code, name, name_en, parent) — parents first.
CATEGORIES = [
    ("FOOD", "食品", "Food", None),
    ("SNACK", "休闲零食", "Snacks", "FOOD"),
    ("DRINK", "饮料", "Drinks", "FOOD"),
    ("DAIRY", "乳制品", "Dairy", "FOOD"),
    ("GRAIN", "粮油", "Rice & oil", "FOOD"),
    ("CARE", "个护美妆", "Personal care", None),
    ("SKIN", "护肤", "Skin care", "CARE"),
    ("HAIR", "洗护", "Hair & body", "CARE"),
    ("HOME", "家居日用", "Home", None),
    ("KITCHEN", "厨具", "Kitchen", "HOME"),
    ("CLEAN", "清洁用品", "Cleaning", "HOME"),
    ("APPAREL", "服饰", "Apparel", None),
    ("MEN", "男装", "Menswear", "APPAREL"),
    ("WOMEN", "女装", "Womenswear", "APPAREL"),
    ("SHOES", "鞋靴", "Shoes", "APPAREL"),
    ("JEWEL", "珠宝", "Jewellery", None),
    ("GOLD", "黄金饰品", "Gold", "JEWEL"),
    ("JADE", "玉器", "Jade", "JEWEL"),
]
BRANDS = [
    ("SHANCHUAN", "山川", "Shanchuan"),
    ("HEFENG", "禾丰", "Hefeng"),
    ("LANWAN", "蓝湾", "Blue Bay"),
    ("XUEYU", "雪域", "Snowland"),
    ("JINSUI", "金穗", "Golden Ear"),
    ("QINGHE", "青禾", "Green Grain"),
    ("YUEJI", "悦己", "Yueji"),
    ("YUNSHANG", "云裳", "Cloudwear"),
    ("JINXIU", "锦绣", "Jinxiu"),
    ("FUMAN", "福满", "Fuman"),
    ("TIANSHAN", "天山牧场", "Tianshan Ranch"),
    ("NORTHWIND", "北风", "Northwind"),
    ("HARBOR", "港湾", "Harbor"),
    ("LUMEN", "光屿", "Lumen"),
    ("ZHENBAO", "珍宝坊", "Zhenbao"),
    ("YUFENG", "玉峰", "Yufeng"),
]
# leaf category → (brand codes, items (zh, en, price range in yuan, unit), tags)
ITEMS: dict[str, tuple[list[str], list[tuple[str, str, tuple[int, int], str]], list[str]]] = {
    "SNACK": (
        ["SHANCHUAN", "HEFENG", "FUMAN"],
        [
            ("坚果礼盒", "Mixed nuts gift box", (59, 168), "盒"),
            ("牛肉干", "Beef jerky", (25, 68), "袋"),
            ("薯片", "Potato chips", (6, 15), "袋"),
            ("话梅", "Dried plums", (9, 22), "袋"),
            ("巧克力", "Chocolate", (12, 45), "盒"),
            ("饼干", "Biscuits", (8, 26), "盒"),
        ],
        ["snack"],
    ),
    "DRINK": (
        ["LANWAN", "TIANSHAN", "NORTHWIND"],
        [
            ("矿泉水 550ml", "Mineral water 550ml", (2, 4), "瓶"),
            ("绿茶 500ml", "Green tea 500ml", (3, 6), "瓶"),
            ("橙汁 1L", "Orange juice 1L", (10, 19), "瓶"),
            ("咖啡豆 250g", "Coffee beans 250g", (58, 128), "袋"),
            ("啤酒 6 听", "Beer 6-pack", (29, 59), "组"),
        ],
        ["drink"],
    ),
    "DAIRY": (
        ["TIANSHAN", "XUEYU"],
        [
            ("纯牛奶 250ml×12", "Whole milk 250ml×12", (39, 69), "箱"),
            ("酸奶 4 杯", "Yoghurt 4-pack", (12, 24), "组"),
            ("奶酪片", "Cheese slices", (22, 45), "袋"),
            ("奶粉 900g", "Milk powder 900g", (168, 358), "罐"),
        ],
        ["dairy", "fresh"],
    ),
    "GRAIN": (
        ["JINSUI", "QINGHE"],
        [
            ("东北大米 5kg", "Northeast rice 5kg", (39, 79), "袋"),
            ("菜籽油 5L", "Rapeseed oil 5L", (69, 129), "桶"),
            ("面粉 2.5kg", "Flour 2.5kg", (15, 29), "袋"),
            ("挂面", "Dried noodles", (6, 16), "袋"),
        ],
        ["staple"],
    ),
    "SKIN": (
        ["YUEJI", "LUMEN"],
        [
            ("保湿面霜", "Moisturising cream", (128, 398), "瓶"),
            ("洁面乳", "Facial cleanser", (49, 139), "支"),
            ("精华液", "Serum", (199, 699), "瓶"),
            ("面膜 10 片", "Sheet masks ×10", (59, 159), "盒"),
        ],
        ["beauty"],
    ),
    "HAIR": (
        ["YUEJI", "LANWAN"],
        [
            ("洗发水", "Shampoo", (39, 89), "瓶"),
            ("沐浴露", "Shower gel", (29, 69), "瓶"),
            ("护发素", "Conditioner", (39, 89), "瓶"),
        ],
        ["care"],
    ),
    "KITCHEN": (
        ["HARBOR", "NORTHWIND"],
        [
            ("不粘锅 28cm", "Non-stick pan 28cm", (129, 399), "个"),
            ("菜刀", "Chef's knife", (59, 269), "把"),
            ("保温杯", "Vacuum flask", (69, 239), "个"),
            ("砧板", "Chopping board", (39, 129), "块"),
        ],
        ["home"],
    ),
    "CLEAN": (
        ["HARBOR", "FUMAN"],
        [
            ("洗衣液 3kg", "Laundry liquid 3kg", (39, 79), "瓶"),
            ("抽纸 10 包", "Tissues ×10", (19, 39), "提"),
            ("洗洁精", "Dish soap", (9, 25), "瓶"),
        ],
        ["home"],
    ),
    "MEN": (
        ["YUNSHANG", "NORTHWIND", "JINXIU"],
        [
            ("男士衬衫", "Men's shirt", (199, 599), "件"),
            ("男士夹克", "Men's jacket", (399, 1299), "件"),
            ("男士 T 恤", "Men's T-shirt", (79, 199), "件"),
            ("休闲裤", "Chinos", (199, 499), "条"),
        ],
        ["apparel"],
    ),
    "WOMEN": (
        ["YUNSHANG", "JINXIU"],
        [
            ("连衣裙", "Dress", (299, 999), "件"),
            ("羊绒衫", "Cashmere sweater", (599, 1899), "件"),
            ("风衣", "Trench coat", (699, 1999), "件"),
            ("丝巾", "Silk scarf", (199, 599), "条"),
        ],
        ["apparel"],
    ),
    "SHOES": (
        ["NORTHWIND", "YUNSHANG"],
        [
            ("运动鞋", "Trainers", (299, 899), "双"),
            ("皮鞋", "Leather shoes", (399, 1299), "双"),
            ("短靴", "Ankle boots", (499, 1499), "双"),
        ],
        ["apparel"],
    ),
    "GOLD": (
        ["ZHENBAO"],
        [
            ("足金吊坠", "Gold pendant", (1999, 6999), "件"),
            ("足金手镯", "Gold bangle", (8999, 29999), "件"),
            ("足金戒指", "Gold ring", (1599, 5999), "件"),
        ],
        ["jewellery", "high-value"],
    ),
    "JADE": (
        ["YUFENG"],
        [
            ("和田玉手镯", "Hetian jade bangle", (2999, 19999), "件"),
            ("翡翠吊坠", "Jadeite pendant", (1299, 9999), "件"),
        ],
        ["jewellery", "high-value"],
    ),
}
PRODUCTS_PER_ITEM = 5  # variants of a single-brand item; three where several brands make it


@dataclass
class DemoSummary:
    regions: int = 0
    stores: int = 0
    terminals: int = 0
    staff: int = 0
    categories: int = 0
    brands: int = 0
    products: int = 0
    new_terminal_keys: dict[str, str] = field(default_factory=dict)


def save_terminal_keys(keys: dict[str, str], keys_file: Path) -> None:
    """The demo tills' keys, for the terminal simulator; a real chain types them into each
    till once. Owner-readable only."""
    keys_file.parent.mkdir(parents=True, exist_ok=True)
    known = json.loads(keys_file.read_text()) if keys_file.exists() else {}
    known.update(keys)
    keys_file.write_text(json.dumps(known, indent=2, ensure_ascii=False))
    keys_file.chmod(0o600)


def _person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


async def create_demo_chain() -> DemoSummary:
    rng = random.Random(2026)
    admin: Actor = await staff.bootstrap_admin(HQ_ADMIN[0], HQ_ADMIN[1], DEMO_PASSWORD)
    summary = DemoSummary()

    existing_regions = {r["code"] for r in await Region.select(Region.code)}
    for code, name in REGIONS:
        if code not in existing_regions:
            await chain.create_region(admin, code, name)

    existing_stores = {r["code"] for r in await Store.select(Store.code)}
    existing_staff = {r["employee_no"] for r in await Staff.select(Staff.employee_no)}
    if HQ_ANALYST[0] not in existing_staff:
        await staff.create_staff(
            admin,
            employee_no=HQ_ANALYST[0],
            name=HQ_ANALYST[1],
            roles=["analyst"],
            password=DEMO_PASSWORD,
        )
    employee_number = 1001
    for code, name, region, zone, address, till_count in STORES:
        if code not in existing_stores:
            await chain.create_store(
                admin,
                code=code,
                name=name,
                region_code=region,
                time_zone=zone,
                address=address,
                phone=f"021-{rng.randint(60000000, 69999999)}",
            )
        tills = {
            t["name"]
            for t in await Terminal.select(Terminal.name).where(Terminal.store.code == code)
        }
        for number in range(1, till_count + 1):
            till = f"POS-{number:02d}"
            if till not in tills:
                _, key = await terminals.create_terminal(admin, code, till)
                summary.new_terminal_keys[f"{code}/{till}"] = key
        # One manager, two cashiers and two salespeople per store.
        for roles in (
            ["store_manager", "cashier"],
            ["cashier"],
            ["cashier"],
            ["salesperson"],
            ["salesperson"],
        ):
            employee_no = f"E{employee_number}"
            employee_number += 1
            person = _person(rng)
            if employee_no in existing_staff:
                continue
            await staff.create_staff(
                admin,
                employee_no=employee_no,
                name=person,
                roles=roles,
                password=DEMO_PASSWORD,
                store_code=code,
                pin=DEMO_MANAGER_PIN if "store_manager" in roles else None,
                manual_discount_limit_bp=2000 if "store_manager" in roles else 500,
            )

    existing_categories = {r["code"] for r in await Category.select(Category.code)}
    for code, name, name_en, parent in CATEGORIES:
        if code not in existing_categories:
            await catalog.create_category(
                admin, code=code, name=name, name_en=name_en, parent_code=parent
            )
    existing_brands = {r["code"] for r in await Brand.select(Brand.code)}
    for code, name, name_en in BRANDS:
        if code not in existing_brands:
            await catalog.create_brand(admin, code=code, name=name, name_en=name_en)

    existing_skus = {r["sku"] for r in await Product.select(Product.sku)}
    variants = ["经典", "升级", "家庭装", "限定", "简装"]
    variants_en = ["Classic", "Plus", "Family size", "Limited", "Basic"]
    for category_code in sorted(ITEMS):
        brands, items, tags = ITEMS[category_code]
        for item_index, (item, item_en, (low, high), unit) in enumerate(items):
            for brand_index, brand in enumerate(brands):
                for variant in range(PRODUCTS_PER_ITEM if len(brands) == 1 else 3):
                    sku = f"{category_code[:3]}{item_index:02d}{brand_index}{variant}"
                    retail_yuan = rng.randint(low, high)
                    # Half the prices end in .90, as shelf prices in China often do.
                    retail = retail_yuan * 100 - (10 if rng.random() < 0.5 else 0)
                    member = retail - retail * rng.choice((0, 0, 5, 10)) // 100
                    if sku in existing_skus:
                        continue
                    brand_name = next(b for b in BRANDS if b[0] == brand)
                    await catalog.create_product(
                        admin,
                        sku=sku,
                        category_code=category_code,
                        brand_code=brand,
                        name=f"{brand_name[1]} {item}（{variants[variant]}）",
                        name_en=f"{brand_name[2]} {item_en} ({variants_en[variant]})",
                        retail_price_minor=retail,
                        member_price_minor=member if member < retail else None,
                        barcode=f"69{rng.randint(10**10, 10**11 - 1)}",
                        unit=unit,
                        tags=tags,
                    )

    summary.regions = await Region.count()
    summary.stores = await Store.count()
    summary.terminals = await Terminal.count()
    summary.staff = await Staff.count()
    summary.categories = await Category.count()
    summary.brands = await Brand.count()
    summary.products = await Product.count()
    return summary
