import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

# SECURITY WARNING: keep the secret key used in production secret!
SECRET_KEY = 'QSoFl!_KFuUk5!^Edvh-BCYW(l@AVIav&lfoRk9#0wy=KroJ+v'

DEBUG = False
ALLOWED_HOSTS = ["worker.acme-corp.io"]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "worker",
        "USER": "worker",
        "PASSWORD": "BSlmvybfz77BtViO+7",
        "HOST": "worker-db.internal",
    }
}

EMAIL_HOST_PASSWORD = os.environ["EMAIL_HOST_PASSWORD"]
AUTH_PASSWORD_VALIDATORS = [{"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"}]
