from django.core.management.base import BaseCommand

from registry import demo


class Command(BaseCommand):
    help = "Load the demo data set (idempotent) and print the demo logins."

    def add_arguments(self, parser):
        parser.add_argument("--password", help="Password for the demo users (default: random).")

    def handle(self, *args, **options):
        password = demo.load(password=options["password"])
        self.stdout.write("Demo data ready. Logins (username / password):")
        for username, role in [
            ("reviewer", "staff reviewer"),
            ("vendor", "member of Example Botanicals"),
            ("vendor2", "member of Golden Leaf Trading"),
        ]:
            self.stdout.write(f"  {username:<9} {password}   ({role})")
