from django.core.management.base import BaseCommand, CommandError

from icb.demo import create_demo_data
from icb.tenancy.models import User


class Command(BaseCommand):
    help = "Add realistic demo accounts, contracts and services to a user's company (once)."

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True, help="an administrator of the company")

    def handle(self, *args, **opts):
        user = User.objects.select_related("company").filter(email=opts["email"].lower()).first()
        if user is None or user.company is None:
            raise CommandError(f"No user {opts['email']} with a company.")
        if create_demo_data(company=user.company, actor=user):
            self.stdout.write(f"Demo data added to {user.company.name}.")
        else:
            self.stdout.write(f"{user.company.name} already has data; demo data left alone.")
