from django.http import HttpResponse


def role_list(request):
    return HttpResponse("todo")


def user_list(request):
    return HttpResponse("todo")


def profile(request):
    return HttpResponse("todo")
