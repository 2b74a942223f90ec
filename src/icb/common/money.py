"""Money and unit arithmetic: always Decimal, two places, half-up rounding like an invoice."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")

# ISO 4217 codes an MSP is likely to bill in; extend as customers need.
CURRENCIES = {
    "AED": "UAE Dirham",
    "AUD": "Australian Dollar",
    "BRL": "Brazilian Real",
    "CAD": "Canadian Dollar",
    "CHF": "Swiss Franc",
    "CNY": "Chinese Yuan",
    "CZK": "Czech Koruna",
    "DKK": "Danish Krone",
    "EUR": "Euro",
    "GBP": "Pound Sterling",
    "HKD": "Hong Kong Dollar",
    "HUF": "Hungarian Forint",
    "ILS": "Israeli New Shekel",
    "INR": "Indian Rupee",
    "JPY": "Japanese Yen",
    "KRW": "South Korean Won",
    "MXN": "Mexican Peso",
    "NOK": "Norwegian Krone",
    "NZD": "New Zealand Dollar",
    "PLN": "Polish Zloty",
    "SAR": "Saudi Riyal",
    "SEK": "Swedish Krona",
    "SGD": "Singapore Dollar",
    "TRY": "Turkish Lira",
    "USD": "US Dollar",
    "ZAR": "South African Rand",
}
CURRENCY_CHOICES = sorted((code, f"{code} — {name}") for code, name in CURRENCIES.items())
# ISO 4217 minor units where they are not two decimal places (an invoice in yen has no cents).
MINOR_UNIT_PLACES = {"JPY": 0, "KRW": 0}


def to_cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def minor_unit(currency: str) -> Decimal:
    """The smallest amount of `currency` an invoice shows: 0.01, or 1 for the yen."""
    return Decimal(1).scaleb(-MINOR_UNIT_PLACES.get(currency, 2))


def to_minor_unit(value: Decimal, currency: str) -> Decimal:
    """`value` rounded half-up to the currency's minor unit (an invoice line's one rounding)."""
    return value.quantize(minor_unit(currency), rounding=ROUND_HALF_UP)


def line_amount(units: Decimal, unit_price: Decimal) -> Decimal:
    """units × unit price, rounded once at the end to the cent."""
    return to_cents(units * unit_price)


def format_money(amount, currency: str = "") -> str:
    """How every page shows an amount: two places, thousands grouped, then the currency
    code: "4,905.00 USD" (the en-US rule; the API answers plain "4905.00"). Empty for no
    amount; a value that is not a number is shown as it is."""
    if amount is None or amount == "":
        return ""
    try:
        value = to_cents(Decimal(str(amount)))
    except InvalidOperation:
        return str(amount)
    text = f"{value:,.2f}"
    return f"{text} {currency}" if currency else text
