"""Word lists and a generator of plausible MSP customer names, and the demo's customers.

The same seed always yields the same list of customers, so the companies an MSP
manages show up under the same names in several modules of the hub.

The demo's customers come from ``demo_customers.json``, a file of this package that the
product's demo command reads too (the product's ``icb demo_data`` makes an account of
each): the hub lists them under the names each tool gives them, and no generated name
looks like one of them.
"""

from __future__ import annotations

import functools
import json
import math
import random
from dataclasses import dataclass
from importlib import resources

# fmt: off
PLACES = (
    "Harbor", "Pinecrest", "Summit", "Riverside", "Oakwood", "Cedar", "Maple", "Northgate",
    "Bluewater", "Granite", "Lakeside", "Evergreen", "Silver Creek", "Redwood", "Stonebridge",
    "Westfield", "Eastgate", "Bayview", "Highland", "Meadowbrook", "Clearwater", "Ironwood",
    "Brookside", "Willow", "Aspen", "Sunrise", "Crescent", "Fairview", "Hillcrest", "Lakeview",
    "Parkside", "Seaside", "Timberline", "Valley", "Keystone", "Liberty", "Pioneer", "Frontier",
    "Heritage", "Coastal", "Prairie", "Canyon", "Sierra", "Beacon", "Anchor", "Lighthouse",
    "Compass", "Cornerstone", "Foxhill", "Elmwood", "Birchwood", "Ashford", "Kingsley",
    "Wexford", "Carlisle", "Bristol", "Hampton", "Newport", "Lexington", "Madison", "Franklin",
    "Jefferson", "Lincoln", "Monroe", "Clayton", "Dover", "Salem", "Ashland", "Greenfield",
    "Springdale", "Rockport", "Glenwood", "Hawthorne", "Juniper", "Magnolia", "Sycamore",
    "Cypress", "Spruce", "Laurel", "Chestnut", "Falcon", "Eagle", "Osprey", "Heron", "Cardinal",
    "Blue Ridge", "Red Rock", "Twin Rivers", "Three Oaks", "Golden Gate", "Northstar",
    "Southport", "Midtown", "Uptown", "Old Town", "Metro", "Tri-County", "Lakeshore",
    "Mountainview", "Riverbend", "Shoreline", "Windmill", "Copperfield", "Ridgeway",
)

SURNAMES = (
    "Miller", "Johnson", "Anderson", "Thompson", "Garcia", "Martinez", "Robinson", "Clark",
    "Rodriguez", "Lewis", "Walker", "Hall", "Allen", "Young", "Hernandez", "King", "Wright",
    "Lopez", "Hill", "Scott", "Green", "Adams", "Baker", "Gonzalez", "Nelson", "Carter",
    "Mitchell", "Perez", "Roberts", "Turner", "Phillips", "Campbell", "Parker", "Evans",
    "Edwards", "Collins", "Stewart", "Sanchez", "Morris", "Rogers", "Reed", "Cook", "Morgan",
    "Bell", "Murphy", "Bailey", "Rivera", "Cooper", "Richardson", "Cox", "Howard", "Ward",
    "Torres", "Peterson", "Gray", "Ramirez", "James", "Watson", "Brooks", "Kelly", "Sanders",
    "Price", "Bennett", "Wood", "Barnes", "Ross", "Henderson", "Coleman", "Jenkins", "Perry",
    "Powell", "Long", "Patterson", "Hughes", "Flores", "Washington", "Butler", "Simmons",
    "Foster", "Bryant", "Alexander", "Russell", "Griffin", "Hayes", "Myers", "Ford", "Hamilton",
    "Graham", "Sullivan", "Wallace", "Woods", "Cole", "West", "Jordan", "Owens", "Reynolds",
)

# Businesses an MSP typically serves.
INDUSTRIES = (
    "Dental Group", "Family Dentistry", "Orthodontics", "Family Medicine", "Pediatrics",
    "Physical Therapy", "Chiropractic", "Eye Care", "Veterinary Clinic", "Animal Hospital",
    "Law Group", "Legal Partners", "Accounting", "CPA Group", "Tax & Advisory",
    "Financial Advisors", "Wealth Management", "Insurance Agency", "Realty", "Properties",
    "Property Management", "Title & Escrow", "Mortgage", "Credit Union", "Logistics",
    "Freight", "Trucking", "Distribution", "Manufacturing", "Machine Works", "Fabrication",
    "Plastics", "Construction", "Builders", "Roofing", "Plumbing", "Electric", "HVAC",
    "Landscaping", "Engineering", "Architects", "Surveying", "Consulting", "Marketing",
    "Media", "Printing", "Auto Group", "Auto Repair", "Motors", "Equipment Rental",
    "Hardware", "Supply Co.", "Foods", "Bakery", "Brewing Company", "Winery", "Catering",
    "Restaurant Group", "Hospitality", "Hotel", "Senior Living", "Home Health", "Staffing",
    "Recruiting", "Academy", "Montessori School", "Learning Center", "Church", "Foundation",
    "Community Services", "Nonprofit", "Museum", "Fitness", "Golf Club", "Marina",
    "Pharmacy", "Laboratories", "Imaging", "Surgical Center", "Behavioral Health",
)

PARTNERSHIPS = ("Law Group", "Accounting", "CPA Group", "Architects", "Consulting")

LEGAL_SUFFIXES = ("", "", "", "", " LLC", " LLC", " Inc.", " Ltd.", " PC", " & Co.")

CITIES = (
    "Boston", "Denver", "Austin", "Dallas", "Phoenix", "Portland", "Seattle", "Atlanta",
    "Chicago", "Nashville", "Raleigh", "Tampa", "Orlando", "Columbus", "Cincinnati",
    "Cleveland", "Pittsburgh", "Baltimore", "Richmond", "Charlotte", "Omaha", "Tulsa",
    "Boise", "Spokane", "Sacramento", "San Diego", "Salt Lake City", "Albuquerque",
    "Kansas City", "St. Louis", "Milwaukee", "Madison", "Minneapolis", "Des Moines",
    "Louisville", "Memphis", "Birmingham", "Savannah", "Charleston", "Hartford", "Providence",
    "Burlington", "Albany", "Buffalo", "Rochester", "Trenton", "Wilmington", "Toledo",
)

SITE_KINDS = (
    "Office", "Office", "Branch", "Clinic", "Warehouse", "Site", "Campus", "Showroom",
    "Plant", "Store",
)

NAMED_SITES = (
    "Headquarters", "Main Street", "Downtown", "North Campus", "South Campus", "East Side",
    "West End", "Airport Road", "Riverfront", "Distribution Center", "Satellite Office",
    "Remote Staff",
)

# fmt: on


@dataclass(frozen=True, slots=True)
class Customer:
    """A company an MSP manages: a name and a head count that drives its quantities."""

    name: str
    employees: int


def pick(rng: random.Random, items: tuple[str, ...]) -> str:
    """``rng.choice`` without its overhead, which matters for 100,000s of names."""
    return items[int(rng.random() * len(items))]


def _two(rng: random.Random, items: tuple[str, ...]) -> tuple[str, str]:
    first = pick(rng, items)
    second = pick(rng, items)
    while second == first:
        second = pick(rng, items)
    return first, second


def _company_name(rng: random.Random, two_word_places: bool) -> str:
    roll = rng.random()
    if roll < 0.22:
        name = f"{pick(rng, SURNAMES)} {pick(rng, INDUSTRIES)}"
    elif roll < 0.30:
        first, second = _two(rng, SURNAMES)
        name = f"{first} & {second} {pick(rng, PARTNERSHIPS)}"
    elif two_word_places:
        first, second = _two(rng, PLACES)
        name = f"{first} {second} {pick(rng, INDUSTRIES)}"
    else:
        name = f"{pick(rng, PLACES)} {pick(rng, INDUSTRIES)}"
    return name + pick(rng, LEGAL_SUFFIXES)


def employees(rng: random.Random) -> int:
    """A head count with the long tail of a small-business customer base."""
    return max(2, min(900, int(math.exp(rng.gauss(3.1, 0.95)))))


def customer_pool(seed: int, size: int) -> list[Customer]:
    """``size`` distinct customers, always the same for a seed and a size. None of them
    looks like a demo customer (see :func:`looks_like_a_demo_customer`)."""
    rng = random.Random(f"{seed}:customers")
    seen: set[str] = set()
    pool: list[Customer] = []
    while len(pool) < size:
        # Some names use two place words; they keep names distinct in very large pools.
        name = _company_name(rng, two_word_places=rng.random() < 0.15)
        if name in seen or looks_like_a_demo_customer(name):
            continue
        seen.add(name)
        pool.append(Customer(name=name, employees=employees(rng)))
    return pool


def new_customer(seed: int, module: str, number: int, taken: set[str]) -> Customer:
    """The ``number``-th customer that joins ``module`` after the first day (see
    ``data.newcomers``): the same for a seed, a module and a number."""
    rng = random.Random(f"{seed}:{module}:new:{number}")
    while True:
        name = _company_name(rng, two_word_places=rng.random() < 0.5)
        if name not in taken and not looks_like_a_demo_customer(name):
            return Customer(name=name, employees=employees(rng))


# --- the demo's customers ----------------------------------------------------------------

DEMO_FILE = "demo_customers.json"


@dataclass(frozen=True, slots=True)
class DemoOrganization:
    """A demo customer as one module of the hub lists it."""

    name: str
    sites: tuple[str, ...] = ()
    status: str = "active"


@dataclass(frozen=True, slots=True)
class DemoCustomer:
    name: str
    employees: int
    hub: dict[str, DemoOrganization]  # module code -> how that tool lists the customer


def demo_file_text() -> str:
    return resources.files(__package__).joinpath(DEMO_FILE).read_text(encoding="utf-8")


@functools.cache
def demo_customers() -> tuple[DemoCustomer, ...]:
    customers = []
    for item in json.loads(demo_file_text())["customers"]:
        hub = {
            module: DemoOrganization(
                name=entry["name"],
                sites=tuple(entry.get("sites", ())),
                status=entry.get("status", "active"),
            )
            for module, entry in item["hub"].items()
        }
        customers.append(DemoCustomer(name=item["name"], employees=item["employees"], hub=hub))
    return tuple(customers)


@functools.cache
def _demo_prefixes() -> tuple[str, ...]:
    """The first two words of every name a demo customer goes by, lower case."""
    names = set()
    for customer in demo_customers():
        names.add(customer.name)
        for org in customer.hub.values():
            names.add(org.name)
            names.update(org.sites)
    return tuple(sorted({" ".join(n.casefold().split()[:2]) for n in names}))


def looks_like_a_demo_customer(name: str) -> bool:
    """Whether a generated name would be confused with a demo customer ("Harbor Dental
    Group LLC" beside the demo's "Harbor Dental Group")."""
    return name.casefold().startswith(_demo_prefixes())


def site_name(rng: random.Random, parent: str, taken: set[str]) -> str:
    """A location of ``parent`` such as "Harbor Dental Group – Boston Office"."""
    for _ in range(20):
        if rng.random() < 0.7:
            site = f"{pick(rng, CITIES)} {pick(rng, SITE_KINDS)}"
        else:
            site = pick(rng, NAMED_SITES)
        if site not in taken:
            taken.add(site)
            return f"{parent} \u2013 {site}"
    site = f"Site {len(taken) + 1}"
    taken.add(site)
    return f"{parent} \u2013 {site}"
