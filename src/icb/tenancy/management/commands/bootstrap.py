from django.core.management.base import BaseCommand, CommandError

from icb.common.errors import ServiceError
from icb.tenancy.services import bootstrap_company


class Command(BaseCommand):
    help = "Create a company with its built-in roles and an administrator (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--company", required=True)
        parser.add_argument("--timezone", default="America/New_York")
        parser.add_argument("--currency", default="USD")
        parser.add_argument("--email", required=True)
        parser.add_argument("--password", required=True)

    def handle(self, *args, **opts):
        try:
            company, user, created = bootstrap_company(
                name=opts["company"],
                time_zone=opts["timezone"],
                currency=opts["currency"],
                email=opts["email"],
                password=opts["password"],
            )
        except ServiceError as exc:
            raise CommandError(exc.message) from None
        verb = "Created" if created else "Already present:"
        self.stdout.write(f"{verb} company “{company.name}” with administrator {user.email}")
