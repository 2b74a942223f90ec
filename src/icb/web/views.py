from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def home(request):
    return render(request, "web/home.html")


def _error(request, status, title, message):
    return render(request, "web/error.html", {"title": title, "message": message}, status=status)


def bad_request(request, exception=None):
    message = str(exception) if exception and str(exception) else "The request was not valid."
    return _error(request, 400, "Bad request", message)


def forbidden(request, exception=None):
    message = str(exception) if exception and str(exception) else "Your role does not allow this."
    return _error(request, 403, "Not allowed", message)


def not_found(request, exception=None):
    return _error(request, 404, "Not found", "There is nothing here, or it is not yours to see.")


def server_error(request):
    return _error(request, 500, "Something went wrong", "The error was logged. Please try again.")
