from django.core.management.base import BaseCommand, CommandError

from icb.demo import DemoUnavailable, create_demo_data, map_demo_organizations
from icb.tenancy.models import User


class Command(BaseCommand):
    help = (
        "Add realistic demo accounts, contracts and services to a user's company (once); "
        "the demo's mappings follow when the company has read the sandbox hub's directory."
    )

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True, help="an administrator of the company")

    def handle(self, *args, **opts):
        user = User.objects.select_related("company").filter(email=opts["email"].lower()).first()
        if user is None or user.company is None:
            raise CommandError(f"No user {opts['email']} with a company.")
        company = user.company
        try:
            created = create_demo_data(company=company, actor=user)
        except DemoUnavailable as exc:
            raise CommandError(f"No demo data: {exc}.") from None
        if created:
            self.stdout.write(f"Demo data added to {company.name}.")
        else:
            self.stdout.write(f"{company.name} already has data; demo data left alone.")
        # Connected before the demo's mappings existed: make them now.
        mapped = map_demo_organizations(company=company, user=user)
        if mapped:
            self.stdout.write(f"Mapped {mapped} sandbox hub organizations to the demo accounts.")
