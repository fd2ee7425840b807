"""Static material for the demo data: companies, places, people, salespeople, currencies and items.

Company names are Microsoft's fictitious ones (the ones CRONUS and the Dynamics demos use); item numbers and
names follow the CRONUS furniture catalogue. The seed picks from these lists with a seeded random generator.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CITIES",
    "COMPANIES",
    "CRM_ONLY_COMPANIES",
    "CRM_ONLY_PRODUCTS",
    "CURRENCIES",
    "FIRST_NAMES",
    "ITEMS",
    "JOB_TITLES",
    "LOCAL_CURRENCY",
    "MIDDLE_NAMES",
    "PAYMENT_TERMS",
    "SALESPEOPLE",
    "STREETS",
    "SURNAMES",
    "City",
    "Item",
]


@dataclass(frozen=True, kw_only=True, slots=True)
class City:
    name: str
    state: str | None
    country: str
    currency: str
    postal_codes: tuple[str, ...]
    phone: str
    """A phone number pattern: each ``#`` becomes a digit."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Item:
    number: str
    name: str
    price: float
    type: str = "Inventory"
    unit: str = "PCS"


CITIES = (
    City(name="Seattle", state="WA", country="US", currency="USD", postal_codes=("98101", "98104", "98121"),
         phone="+1 206 555 01##"),
    City(name="Atlanta", state="GA", country="US", currency="USD", postal_codes=("30303", "30308", "30327"),
         phone="+1 404 555 01##"),
    City(name="Chicago", state="IL", country="US", currency="USD", postal_codes=("60601", "60611", "60654"),
         phone="+1 312 555 01##"),
    City(name="Toronto", state="ON", country="CA", currency="CAD", postal_codes=("M5V 2T6", "M5H 2N2"),
         phone="+1 416 555 01##"),
    City(name="Vancouver", state="BC", country="CA", currency="CAD", postal_codes=("V6B 1A1", "V6C 3E8"),
         phone="+1 604 555 01##"),
    City(name="London", state=None, country="GB", currency="GBP", postal_codes=("EC1A 1BB", "W1D 3QF", "SE1 9SG"),
         phone="+44 20 7946 0###"),
    City(name="Manchester", state=None, country="GB", currency="GBP", postal_codes=("M1 1AE", "M3 3EB"),
         phone="+44 161 496 0###"),
    City(name="Copenhagen", state=None, country="DK", currency="DKK", postal_codes=("1050", "1620", "2100"),
         phone="+45 33 ## ## ##"),
    City(name="Aarhus", state=None, country="DK", currency="DKK", postal_codes=("8000", "8200"),
         phone="+45 86 ## ## ##"),
    City(name="Berlin", state=None, country="DE", currency="EUR", postal_codes=("10115", "10178", "10969"),
         phone="+49 30 #### ####"),
    City(name="Munich", state="Bavaria", country="DE", currency="EUR", postal_codes=("80331", "80802"),
         phone="+49 89 #### ####"),
    City(name="Amsterdam", state=None, country="NL", currency="EUR", postal_codes=("1012 AB", "1017 CE"),
         phone="+31 20 ### ####"),
    City(name="Antwerp", state=None, country="BE", currency="EUR", postal_codes=("2000", "2018"),
         phone="+32 3 ### ## ##"),
)  # fmt: skip

STREETS = {
    "US": ("Main Street", "Pine Avenue", "Market Street", "Lake Shore Drive", "Oak Street", "Madison Avenue"),
    "CA": ("King Street West", "Granville Street", "Bay Street", "Queen Street East"),
    "GB": ("High Street", "Station Road", "Church Lane", "Victoria Road", "Mill Lane"),
    "DK": ("Vesterbrogade", "Nørregade", "Strandvejen", "Østergade", "Bredgade"),
    "DE": ("Hauptstraße", "Bahnhofstraße", "Friedrichstraße", "Schillerstraße"),
    "NL": ("Keizersgracht", "Damrak", "Herengracht", "Prinsengracht"),
    "BE": ("Meir", "Frankrijklei", "Kammenstraat", "Nationalestraat"),
}
"""Street names per country; the US, Canada and the UK put the house number first."""

COMPANIES = (
    ("Adatum Corporation", "adatum.com"),
    ("Trey Research", "treyresearch.net"),
    ("School of Fine Art", "fineartschool.net"),
    ("Alpine Ski House", "alpineskihouse.com"),
    ("Relecloud", "relecloud.com"),
    ("Coho Winery", "cohowinery.com"),
    ("Fabrikam, Inc.", "fabrikam.com"),
    ("Contoso Pharmaceuticals", "contosopharma.com"),
    ("Northwind Traders", "northwindtraders.com"),
    ("Litware, Inc.", "litwareinc.com"),
    ("Proseware, Inc.", "proseware.com"),
    ("Wide World Importers", "wideworldimporters.com"),
    ("Tailspin Toys", "tailspintoys.com"),
    ("Woodgrove Bank", "woodgrovebank.com"),
    ("Fourth Coffee", "fourthcoffee.com"),
    ("Lucerne Publishing", "lucernepublishing.com"),
    ("Margie's Travel", "margiestravel.com"),
    ("Humongous Insurance", "humongousinsurance.com"),
    ("Blue Yonder Airlines", "blueyonderairlines.com"),
    ("Graphic Design Institute", "graphicdesigninstitute.com"),
    ("Wingtip Toys", "wingtiptoys.com"),
    ("VanArsdel, Ltd.", "vanarsdelltd.com"),
    ("Bellows College", "bellowscollege.com"),
    ("Consolidated Messenger", "consolidatedmessenger.com"),
    ("City Power & Light", "cpandl.com"),
    ("Munson's Pickles and Preserves Farm", "munsonspickles.com"),
    ("Southridge Video", "southridgevideo.com"),
    ("Lamna Healthcare Company", "lamnahealthcare.com"),
    ("Nod Publishers", "nodpublishers.com"),
    ("Best For You Organics Company", "bestforyouorganics.com"),
    ("Adventure Works Cycles", "adventure-works.com"),
    ("The Phone Company", "thephone-company.com"),
    ("First Up Consultants", "firstupconsultants.com"),
    ("Tailwind Traders", "tailwindtraders.com"),
    ("Liberty's Delightful Sinful Bakery & Cafe", "libertysbakery.com"),
    ("Baldwin Museum of Science", "baldwinmuseumofscience.com"),
    ("Fincher Architects", "fincherarchitects.com"),
    ("Contoso Suites", "contososuites.com"),
    ("Fabrikam Residences", "fabrikamresidences.com"),
    ("Northwind Electric Cars", "northwindelectriccars.com"),
)

CRM_ONLY_COMPANIES = (
    ("Lakeshore Retail Group", "lakeshoreretail.com"),
    ("Harborview Dental Clinic", "harborviewdental.com"),
    ("Summit Peak Outfitters", "summitpeakoutfitters.com"),
    ("Greenleaf Landscaping", "greenleaflandscaping.com"),
    ("Oakridge Veterinary Hospital", "oakridgevet.com"),
    (
        "Meridian Solar Systems and Renewable Energy Installation, Maintenance and Consulting Services Scandinavia A/S",
        "meridiansolar.dk",
    ),
    ("Brightwater Aquatics", "brightwateraquatics.com"),
    ("Old Mill Bakery", "oldmillbakery.com"),
)
"""Accounts that exist only in the CRM. The sixth name is longer than Business Central's 100 characters, so
creating it in the ERP is rejected; the seventh is a prospect and the last one inactive (both outside the filter)."""

FIRST_NAMES = (
    "Anna", "Ben", "Carla", "David", "Elena", "Frank", "Grace", "Henrik", "Isabel", "James", "Karin", "Lars",
    "Maria", "Nils", "Olivia", "Paul", "Rachel", "Søren", "Sophie", "Thomas", "Ursula", "Victor", "Wendy",
    "Yusuf", "Zoe", "Mette", "Jürgen", "Priya", "Kenji", "Chloé", "Liam", "Freja", "Marco", "Aisha", "Oscar",
)  # fmt: skip

SURNAMES = (
    "Andersen", "Baker", "Clarke", "Dubois", "Evans", "Fischer", "García", "Hansen", "Iversen", "Jensen",
    "Kowalski", "Larsen", "Müller", "Nielsen", "O'Brien", "Petersen", "Quinn", "Rossi", "Schmidt", "Taylor",
    "Van Dijk", "Walsh", "Young", "Zimmermann", "Patel", "Tanaka", "Moreau", "Lindqvist", "Murphy", "Novak",
)  # fmt: skip

MIDDLE_NAMES = ("J.", "Marie", "A.", "Lee", "K.")

JOB_TITLES = (
    "Purchasing Manager", "Chief Executive Officer", "Accounts Payable Clerk", "Operations Manager",
    "IT Manager", "Office Manager", "Buyer", "Finance Director", "Procurement Specialist", "Marketing Manager",
    "Facility Manager", "Project Manager",
)  # fmt: skip

SALESPEOPLE = (
    ("AH", "Annette Hill", "Sales Manager"),
    ("JO", "Jim Olive", "Account Manager"),
    ("OF", "Otis Falls", "Account Manager"),
    ("PS", "Peter Saddow", "Sales Representative"),
    ("BC", "Benjamin Chiu", "Key Account Manager"),
    ("LM", "Linda Martin", "Inside Sales"),
)
"""(code, name, job title) of the salespeople; they are also users of the CRM."""

LOCAL_CURRENCY = "USD"
"""The ERP's local currency (LCY), which is also the CRM's base currency. As in Business Central, the ERP's
currency table does not list it, and a customer that pays in it has a blank currency code."""

CURRENCIES = (
    ("EUR", "Euro", "€"),
    ("USD", "US dollar", "$"),
    ("GBP", "British pound", "£"),
    ("DKK", "Danish krone", "kr."),
    ("CAD", "Canadian dollar", "CA$"),
)
"""(code, name, symbol). The ERP lists all but the local currency; the CRM starts with USD (its base currency)
and EUR only."""

PAYMENT_TERMS = (
    ("30 DAYS", 1),
    ("14 DAYS", 2),
    ("CM", 3),
    ("60 DAYS", 4),
    ("7 DAYS", 5),
    ("COD", 6),
)
"""(Business Central payment terms code, the value of the CRM's ``account.paymenttermscode`` option set): the
CUSTOMER mapping's option mapping. CM is "current month", COD "cash on delivery"."""

ITEMS = (
    Item(number="1896-S", name="Athens Desk", price=1000.80),
    Item(number="1900-S", name="Paris Guest Chair, black", price=192.80),
    Item(number="1906-S", name="Athens Mobile Pedestal", price=281.40),
    Item(number="1908-S", name="London Swivel Chair, blue", price=190.10),
    Item(number="1920-S", name="Antwerp Conference Table", price=649.40),
    Item(number="1925-W", name="Conference Bundle 1-6", price=1437.40),
    Item(number="1928-S", name="Amsterdam Lamp", price=54.90),
    Item(number="1929-W", name="Conference Bundle 1-8", price=1893.80),
    Item(number="1936-S", name="Berlin Guest Chair, yellow", price=192.80),
    Item(number="1953-W", name="Guest Section 1", price=776.20),
    Item(number="1960-S", name="Rome Guest Chair, green", price=192.80),
    Item(number="1964-S", name="Tokyo Guest Chair, blue", price=192.80),
    Item(number="1965-W", name="Conference Bundle 2-8", price=1688.30),
    Item(number="1968-S", name="Mexico Swivel Chair, black", price=190.10),
    Item(number="1972-S", name="Munich Swivel Chair, yellow", price=190.10),
    Item(number="1980-S", name="Moscow Swivel Chair, red", price=190.10),
    Item(number="1988-S", name="Seoul Guest Chair, red", price=192.80),
    Item(number="1996-S", name="Atlanta Whiteboard, base", price=1397.30),
    Item(number="2000-S", name="Sydney Swivel Chair, green", price=190.10),
    Item(number="766BC-A", name="Contoso Conference System", price=3990.00),
    Item(number="766BC-B", name="Contoso Conference Speaker", price=249.00),
    Item(number="SRV-INSTALL", name="Installation, per hour", price=95.00, type="Service", unit="HOUR"),
    Item(number="SRV-DESIGN", name="Office design consultation", price=120.00, type="Service", unit="HOUR"),
    Item(number="SRV-ASSEMBLY", name="Furniture assembly, per hour", price=65.00, type="Service", unit="HOUR"),
    Item(number="NI-DELIVERY", name="Delivery charge", price=49.00, type="Non-Inventory"),
)

CRM_ONLY_PRODUCTS = (
    ("EXT-WARRANTY-3Y", "Extended warranty, 3 years", 199.00, 4),
    ("DESIGN-PACKAGE", "Workplace design package", 2500.00, 3),
    ("CARE-PLAN-ANNUAL", "Annual furniture care plan", 480.00, 3),
    ("1950-S", "Lisbon Guest Chair, grey", 185.00, 1),
)
"""(productnumber, name, price, producttypecode: 1 sales inventory, 3 services, 4 flat fees); the last is retired."""
