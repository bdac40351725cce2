"""piccolo-admin at /admin: HQ admins sign in with their own credentials; nobody else can."""

from __future__ import annotations

from piccolo.apps.user.tables import BaseUser

from stores import staff
from tests import factories


async def test_only_active_hq_admins_have_an_admin_site_login(client):
    admin = await factories.hq_admin()
    await factories.small_chain(admin)
    await factories.employee(admin, "E100", ["store_manager"], "SH001")
    await factories.employee(admin, "H0009", ["hq_admin"])
    assert await BaseUser.login(username="H0009", password=factories.PASSWORD) is not None
    assert await BaseUser.login(username="E100", password=factories.PASSWORD) is None

    await staff.update_staff(admin, "H0009", {"roles": ["analyst"]})
    mirrored = (
        await BaseUser.select(BaseUser.active, BaseUser.admin)
        .where(BaseUser.username == "H0009")
        .first()
    )
    assert mirrored == {"active": False, "admin": False}


async def test_admin_site_is_mounted_and_its_login_accepts_an_hq_admin(client):
    await factories.hq_admin()
    page = await client.get("/admin/")
    assert page.status_code == 200
    csrf = {"X-CSRFToken": client.cookies.get("csrftoken", "")}
    login = await client.post(
        "/admin/public/login/",
        json={"username": "H0001", "password": factories.PASSWORD},
        headers=csrf,
    )
    assert login.status_code in (200, 303), login.text
    refused = await client.post(
        "/admin/public/login/",
        json={"username": "H0001", "password": "wrong-password"},
        headers=csrf,
    )
    assert refused.status_code in (401, 403)
