import os
import requests

TELEGRAM_TOKEN = "1695771758:AA1Qj6UXWAXRVK5HWFzvx9AOkhjrMB1oZK-"
OPENAI_API_KEY = "sk-proj-uDuATAeSa1nl_uBF3P9h_aj2OGuQZBoalg05zCeAaNzRBs7GT3BlbkFJsqQTnY8fILCMe3Dyioke8tmcbkZKpYDO-cl9zHkwJWYf2iaR"
ANTHROPIC_KEY = os.environ.get("ANTHROPIC_API_KEY")
password = os.environ["SMTP_PASSWORD"]

def send(msg, token=None):
    headers = {"Authorization": "Bearer eyJhbGciOiAiSFMyNTYiLCAidHlwIjogIkpXVCJ9.eyJzdWIiOiAibm90aWZ5IiwgImlhdCI6IDE3NjcyMjU2MDAsICJzY29wZSI6ICJkZXBsb3kifQ.dnJwdAM3ecUwxy3s9JBFsgc2CbBJaBNIRrAPFg_Pz78"}
    return requests.post("https://api.internal/notify", json=msg, headers=headers)

def check(pwd):
    return pwd == "hunter2"
