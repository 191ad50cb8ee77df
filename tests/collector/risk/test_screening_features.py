"""Each feature flags its anomaly and says which feature, how far from normal, and compared
with what; normal declarations in the same batch stay unflagged."""

from __future__ import annotations

from sqlalchemy import text


def test_a_normal_declaration_after_a_normal_history_is_not_flagged(risk):
    risk.history()
    result = risk.store([risk.declaration(n) for n in range(100, 110)])
    assert result.flagged == []


def test_an_undervalued_declaration_is_compared_with_the_hs8_and_origin_median(risk):
    risk.history()
    risk.store([risk.declaration(100, declared_value=650.0)])
    flag = risk.flags("D00100")["unit_value"]
    assert flag["observed"] == 65.0 and 650 < flag["expected"] < 750
    assert flag["score"] > 10
    assert flag["reference"].startswith("HS 85171300 from VN, per PCS: median")
    assert "n=40" in flag["reference"]
    assert flag["reason"].startswith("unit value 65.0 CNY/PCS is 0.0")
    assert "robust z -" in flag["reason"]


def test_an_overvalued_declaration_is_flagged_above_the_median(risk):
    risk.history()
    risk.store([risk.declaration(100, declared_value=140_000.0)])
    flag = risk.flags("D00100")["unit_value"]
    assert flag["observed"] > flag["expected"] * 10
    assert "robust z " in flag["reason"] and "robust z -" not in flag["reason"]


def test_a_thin_hs8_line_falls_back_to_its_hs6_reference(risk):
    risk.history()
    risk.store([risk.declaration(100, hs_code="85171399", declared_value=600.0)])
    assert risk.flags("D00100")["unit_value"]["reference"].startswith("HS 851713 from VN")


def test_an_implausible_weight_shows_in_value_per_kg_while_the_unit_value_is_normal(risk):
    risk.history()
    risk.store([risk.declaration(100, net_kg=75.0, gross_kg=80.0)])
    flags = risk.flags("D00100")
    assert set(flags) == {"value_per_kg"}
    assert flags["value_per_kg"]["reason"].startswith("value per kg 88.7 CNY/KG is 0.06")


def test_net_weight_above_gross_weight_is_a_hard_failure(risk):
    risk.store([risk.declaration(1, net_kg=6.0, gross_kg=5.0)])
    flag = risk.flags("D00001")["net_over_gross"]
    assert (flag["score"], flag["observed"], flag["expected"]) == (10.0, 6.0, 5.0)
    assert flag["reason"] == "net weight 6.00 kg exceeds the gross weight 5.00 kg"


def test_a_traders_first_declaration_is_flagged_and_its_second_is_not(risk):
    risk.history()
    risk.store([risk.declaration(100, trader_id="NEWCO"), risk.declaration(101, trader_id="NEWCO")])
    assert risk.flags("D00100")["new_trader"]["reason"] == "first declaration of trader NEWCO"
    assert risk.flags("D00101") == {}


def test_a_sudden_change_of_hs_chapter_breaks_the_traders_pattern(risk):
    risk.history()
    risk.store([risk.declaration(100, hs_code="02013000", unit="KG")])
    flag = risk.flags("D00100")["pattern_change"]
    assert flag["observed"] == 0 and flag["expected"] == 21
    assert flag["reason"] == "HS chapter 02 in 0 of trader T1's 21 earlier declarations"


def test_an_origin_new_for_the_hs_code_at_the_site_is_flagged_with_the_usual_ones(risk):
    risk.history()
    risk.store([risk.declaration(100, origin="TH", trader_id="T2")])
    flag = risk.flags("D00100")["new_origin"]
    assert flag["reason"] == (
        "origin TH is new for HS 851713 at 5304-SHEKOU (0 of 40 earlier declarations)"
    )
    assert flag["reference"] == "origins of HS 851713 at 5304-SHEKOU: VN 40"
    # The same origin at another site is new there, not here any more.
    risk.store([risk.declaration(101, origin="TH", trader_id="T2")])
    assert "new_origin" not in risk.flags("D00101")


def test_frequent_amendments_are_compared_with_the_national_rate(risk, engine):
    risk.history()
    t3 = [n for n in range(40) if n % 6 == 4][:4]
    risk.store([risk.declaration(n, trader_id="T3", amendment_no=1) for n in t3])
    flag = risk.flags(f"D{t3[0]:05d}")["amendments"]
    assert flag["observed"] == 4 / 6 and flag["expected"] == 4 / 40
    assert flag["reason"].startswith("trader T3 amended 4 of its 6 declarations (66.7%)")
    with engine.connect() as conn:
        flagged = conn.execute(
            text("SELECT count(*) FROM risk_flag WHERE feature = 'amendments'")
        ).scalar()
    assert flagged == 4


def test_every_flag_marks_its_declaration_with_the_top_score_and_features(risk):
    risk.history()
    risk.store([risk.declaration(100, declared_value=650.0, trader_id="NEWCO")])
    score, features, rules = risk.mark("D00100")
    assert features == ["new_trader", "unit_value", "value_per_kg"]
    assert score == max(f["score"] for f in risk.flags("D00100").values())
    assert rules is None
