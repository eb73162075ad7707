"""``datacapt kits import TENANT STUDY FILE``: the kit list as the operator imports it — every
bad line printed and nothing kept, or every kit added and audited."""

from __future__ import annotations

from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from datacapt.actor import Actor
from datacapt.kits import services
from datacapt.models import AuditEvent, Kit, KitState, ProductType, Site, Study, Tenant

SETUP = Actor.system("tests")


def with_session(url: str, act):
    engine = create_engine(url)
    try:
        with Session(engine) as dbsession, dbsession.begin():
            return act(dbsession)
    finally:
        engine.dispose()


def kit_type(dbsession: Session) -> None:
    tenant = dbsession.scalar(select(Tenant).where(Tenant.slug == "kitco"))
    study = dbsession.scalar(select(Study).where(Study.tenant_id == tenant.id))
    product = services.add_product(
        dbsession, tenant, "ACT", "Active", ProductType.INVESTIGATIONAL, SETUP
    )
    services.add_kit_type(dbsession, study, "KA", "Active kit", product, SETUP)


def test_a_kit_list_is_imported_from_the_command_line(datacapt, cli_database, tmp_path):
    assert datacapt("tenant", "create", "kitco", "Kit Co")[0] == 0
    assert datacapt("study", "create", "kitco", "k-001", "Kits 001")[0] == 0
    assert datacapt("site", "create", "kitco", "k-001", "par01", "Paris")[0] == 0
    with_session(cli_database, kit_type)

    bad = tmp_path / "bad.csv"
    bad.write_text(
        "number,type,batch,expiry,location\n"
        "K1,KA,B1,2030-01-31,depot\n"
        "K2,KZ,B1,2030-01-31,depot\n"
        "K3,KA,B1,2030-01-31,ber01\n"
    )
    code, out, err = datacapt("kits", "import", "kitco", "k-001", str(bad))
    assert code == 2
    assert out.splitlines() == [
        "line 3: Unknown kit type “KZ”: use one of KA.",
        "line 4: Unknown location “ber01”: use depot or a site's code.",
    ]
    assert "2 errors: nothing imported" in err

    def kits(dbsession: Session):
        return dbsession.execute(
            select(Kit.number, Kit.state, Site.code)
            .outerjoin(Site, Site.id == Kit.site_id)
            .order_by(Kit.number)
        ).all()

    assert with_session(cli_database, kits) == []

    good = tmp_path / "good.csv"
    good.write_text(
        "number,type,batch,expiry,location\nK1,KA,B1,2030-01-31,depot\nK2,KA,B1,2030-01-31,par01\n"
    )
    code, out, _err = datacapt(
        "kits", "import", "kitco", "k-001", str(good), "--list", "production"
    )
    assert (code, out.strip()) == (0, "2 kits imported (production list)")
    assert [tuple(row) for row in with_session(cli_database, kits)] == [
        ("K1", KitState.AVAILABLE, None),
        ("K2", KitState.AVAILABLE, "par01"),
    ]

    def imported(dbsession: Session) -> int:
        return dbsession.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "kits.list_imported", AuditEvent.new_value == "2")
        )

    assert with_session(cli_database, imported) == 1
    # The same file again: every number is already in the study.
    code, out, _err = datacapt("kits", "import", "kitco", "k-001", str(good))
    assert code == 2 and "Kit K1 is already in the study." in out
    assert datacapt("kits", "import", "kitco", "nope", str(good))[0] == 2
