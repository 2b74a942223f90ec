from django.core.management.base import BaseCommand, CommandError

from icb.tenancy.models import User
from icb.tenancy.services import api_token_create


class Command(BaseCommand):
    help = "Manage personal API tokens: `token create --email E [--name N]`."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["create"])
        parser.add_argument("--email", required=True)
        parser.add_argument("--name", default="Command-line token")

    def handle(self, *args, **opts):
        user = User.objects.filter(email=opts["email"].lower(), is_active=True).first()
        if user is None or user.company_id is None:
            raise CommandError(f"No active user with email {opts['email']}.")
        _, raw = api_token_create(user=user, name=opts["name"])
        # The token is printed once, for the person who asked for it; only its hash is stored.
        self.stdout.write(raw)
