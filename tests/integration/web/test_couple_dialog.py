"""The Set up coupling dialog in-process: nothing looks chosen until the user picks (a single exact match is), the
lookup hides coupled records and shows identifying columns with their captions, and a refusal stays inside the
dialog with the search kept."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from coupler.services.api import Coupler

HTML = {"accept": "text/html"}
HTMX = {"accept": "text/html", "hx-request": "true"}


def _checked(html: str) -> list[str]:
    """The names (labels) of the lookup's picked records."""
    ids = re.findall(r'<input type="radio" name="integration" value="[^"]*" id="(pick-\d+)"[^>]*?\bchecked\b', html)
    return [re.search(rf'<label for="{i}">([^<]*)</label>', html).group(1) for i in ids]  # type: ignore[union-attr]


def _key(html: str, name: str) -> str:
    found = re.search(
        rf'value="([^"]+)" id="pick-\d+"[^>]*>\s*</td>\s*<th scope="row"><label for="pick-\d+">{re.escape(name)}<', html
    )
    assert found, f"{name} is not among the results"
    return found.group(1)


def test_a_single_exact_match_is_preselected_and_compared(client: TestClient) -> None:
    dialog = client.get("/mappings/CUSTOMER/records/C00070/couple", headers=HTMX)
    assert dialog.status_code == 200
    assert 'value="Fabrikam, Inc."' in dialog.text, "the lookup starts from the customer's name"
    assert _checked(dialog.text) == ["Fabrikam, Inc."]
    assert "Fields: C00070 Fabrikam, Inc. and Fabrikam, Inc." in dialog.text
    assert "1 Dynamics 365 Sales record found, coupled records hidden. Fabrikam, Inc. is picked." in dialog.text
    assert 'id="hide-coupled" name="hide_coupled" value="true" checked' in dialog.text, "on by default"
    assert re.search(
        r"<button type=\"submit\">Couple</button>.*>Create new</button>.*>Cancel</button>", dialog.text, re.S
    )


def test_nothing_looks_chosen_until_the_user_picks(client: TestClient) -> None:
    two = client.get("/mappings/CUSTOMER/lookup?q=Be&ref=C00400", headers=HTMX).text
    assert "Bellows College" in two and "Best For You Organics Company" in two
    assert _checked(two) == [] and "exact" not in two
    assert "pick a Dynamics 365 Sales record to compare them" in two, "the comparison follows, out of band"
    assert "2 Dynamics 365 Sales records found" in two and "Pick one to couple with." in two
    picked = _key(two, "Bellows College")
    kept = client.get(f"/mappings/CUSTOMER/lookup?q=Bel&ref=C00400&integration={picked}", headers=HTMX).text
    assert _checked(kept) == ["Bellows College"], "what the user picked stays picked while the search finds it"
    assert "Fields: C00400 Northwind Electric Cars and Bellows College" in kept
    gone = client.get(f"/mappings/CUSTOMER/lookup?q=Best&ref=C00400&integration={picked}", headers=HTMX).text
    assert "Bellows College" not in gone and _checked(gone) == [], "a pick the search no longer finds is let go"
    exact = client.get("/mappings/CUSTOMER/lookup?q=northwind+electric+cars&ref=C00400", headers=HTMX).text
    assert _checked(exact) == ["NORTHWIND ELECTRIC CARS"], "a single exact match (any case) is preselected"
    dialog = client.get("/mappings/CUSTOMER/records/C00080/couple", headers=HTMX).text  # no account of its name
    assert _checked(dialog) == [] and "Nothing found" in dialog


def test_the_lookup_hides_coupled_records_unless_asked(client: TestClient, coupler: Coupler) -> None:
    assert coupler.couple("CUSTOMER", "C00070", "Fabrikam, Inc.").ok
    hidden = client.get("/mappings/CUSTOMER/lookup?q=Fab&ref=C00390&hide_coupled=true", headers=HTMX).text
    assert "Fabrikam, Inc." not in hidden
    assert "among the records not coupled yet: clear Hide coupled records to see the coupled ones" in hidden
    shown = client.get("/mappings/CUSTOMER/lookup?q=Fab&ref=C00390", headers=HTMX).text
    assert "Fabrikam, Inc." in shown and "coupled to C00070" in shown
    assert _checked(shown) == [], "a coupled record is never preselected"
    dialog = client.get("/mappings/CUSTOMER/records/C00070/couple", headers=HTMX).text
    assert "Fabrikam, Inc. is picked" not in dialog, "hidden: its own partner is coupled already"


def test_the_lookup_shows_identifying_columns_by_their_captions(client: TestClient) -> None:
    found = client.get("/mappings/CUSTOMER/lookup?q=Fabrikam&ref=C00070", headers=HTMX).text
    headers = re.findall(r'<th scope="col"[^>]*>([^<]*)</th>', found.split("</thead>")[0])
    assert headers == ["Name", "Address", "City", "Post Code"]
    assert "<td>194 Station Road</td>" in found and "Manchester" in found
    assert "address1_city" not in found.split('id="couple-fields"')[0], "captions, never the API's field names"


def test_a_refusal_stays_inside_the_dialog_with_the_search_kept(
    client: TestClient, csrf: str, coupler: Coupler
) -> None:
    assert coupler.couple("CUSTOMER", "C00070", "Fabrikam, Inc.").ok
    shown = client.get("/mappings/CUSTOMER/lookup?q=Fab&ref=C00110", headers=HTMX).text
    fabrikam = _key(shown, "Fabrikam, Inc.")
    form = {"csrf_token": csrf, "q": "Fab", "integration": fabrikam, "sync_after": "no"}
    refused = client.post("/mappings/CUSTOMER/records/C00110/couple", data=form, headers=HTMX)
    assert refused.status_code == 409
    assert refused.text.lstrip().startswith('<div class="dialog-body" id="couple-dialog">'), "the dialog, no page"
    assert 'role="alert"' in refused.text and "already coupled" in refused.text
    assert 'value="Fab"' in refused.text and _checked(refused.text) == ["Fabrikam, Inc."]
    assert 'id="hide-coupled" name="hide_coupled" value="true" checked' not in refused.text, "as the user left it"
    nothing = client.post("/mappings/CUSTOMER/records/C00110/couple", data={**form, "integration": ""}, headers=HTMX)
    assert nothing.status_code == 422 and "Pick the Dynamics 365 Sales record" in nothing.text
    assert 'value="Fab"' in nothing.text
    page = client.post("/mappings/CUSTOMER/records/C00110/couple", data=form, headers=HTML)  # no JavaScript
    assert page.status_code == 409 and "Set up coupling: CUSTOMER C00110" in page.text
    assert "already coupled" in page.text and "Something is not right" not in page.text


def test_couple_and_create_new_from_the_dialog_open_the_card_with_the_job(client: TestClient, csrf: str) -> None:
    dialog = client.get("/mappings/CUSTOMER/records/C00110/couple", headers=HTMX).text
    proseware = _key(dialog, "Proseware, Inc.")
    form = {"csrf_token": csrf, "q": "Proseware, Inc.", "hide_coupled": "true", "integration": proseware}
    coupled = client.post("/mappings/CUSTOMER/records/C00110/couple", data=form, headers=HTMX)
    assert coupled.status_code == 200 and coupled.headers["hx-redirect"].startswith(
        "/mappings/CUSTOMER/records/C00110?job="
    )
    card = client.get(coupled.headers["hx-redirect"], headers=HTML).text
    assert "Set up coupling (CUSTOMER): 1 coupled." in card
    created = client.post(
        "/mappings/CUSTOMER/records/C00020/couple", data={"csrf_token": csrf, "create": "true"}, headers=HTMX
    )
    assert created.status_code == 200 and "/mappings/CUSTOMER/records/C00020?job=" in created.headers["hx-redirect"]
    card = client.get(created.headers["hx-redirect"], headers=HTML).text
    assert "Create and couple (CUSTOMER)" in card
