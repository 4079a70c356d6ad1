# Batch chat completions with Mistral Nemo Instruct 2407 on kluster.ai
import json
import os
import sys
import time
from getpass import getpass

from openai import APIStatusError, OpenAI

# Read the API key from the API_KEY environment variable, or ask for it
api_key = os.environ.get("API_KEY") or getpass("Enter your kluster.ai API key: ")

# Initialize OpenAI client pointing to the kluster.ai API
client = OpenAI(
    api_key=api_key,
    base_url="https://api.kluster.ai/v1",
)


# Show an error the API answers with as its message, not as a traceback
def show_api_error(kind, error, traceback):
    if isinstance(error, APIStatusError):
        print(f"Error: {error.status_code} {error.message}", file=sys.stderr)
    else:
        sys.__excepthook__(kind, error, traceback)


sys.excepthook = show_api_error

# Create requests with the batch input structure
requests = [
    {
        "custom_id": "request-1",
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {
            "model": "mistralai/Mistral-Nemo-Instruct-2407",
            "messages": [
                {
                    "role": "system",
                    "content": "You are an experienced cook."
                },
                {
                    "role": "user",
                    "content": "What is the ultimate breakfast sandwich?"
                }
            ],
            "max_completion_tokens": 1000
        }
    },
    {
        "custom_id": "request-2",
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {
            "model": "mistralai/Mistral-Nemo-Instruct-2407",
            "messages": [
                {
                    "role": "system",
                    "content": "You are a maths tutor."
                },
                {
                    "role": "user",
                    "content": "Explain the Pythagorean theorem."
                }
            ],
            "max_completion_tokens": 1000
        }
    },
    {
        "custom_id": "request-3",
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {
            "model": "mistralai/Mistral-Nemo-Instruct-2407",
            "messages": [
                {
                    "role": "system",
                    "content": "You are a multilingual, experienced maths tutor."
                },
                {
                    "role": "user",
                    "content": "Explain the Pythagorean theorem in Spanish."
                }
            ],
            "max_completion_tokens": 1000
        }
    },
    # Additional requests can be added here
]

# Save requests to a JSONL file (newline-delimited JSON)
file_name = "my_batch_request.jsonl"
with open(file_name, "w") as file:
    for request in requests:
        file.write(json.dumps(request) + "\n")

# Upload batch job file
with open(file_name, "rb") as file:
    batch_input_file = client.files.create(file=file, purpose="batch")

# Submit batch job
batch_request = client.batches.create(
    input_file_id=batch_input_file.id,
    endpoint="/v1/chat/completions",
    completion_window="24h",
)

# Statuses a batch passes through, and those it ends with
waiting_statuses = ("validating", "scheduling", "in_progress", "finalizing", "cancelling")
final_statuses = ("completed", "failed", "cancelled", "expired")
# A status outside both lists is waited on too, but not for more than this many checks
max_unknown_checks = 30

# Poll the batch status until it ends
unknown_checks = 0
while True:
    batch_status = client.batches.retrieve(batch_request.id)
    print(f"Batch status: {batch_status.status}")
    # The request counts may be missing, e.g. while the batch is being scheduled
    if batch_status.request_counts is not None:
        print(f"Completed tasks: {batch_status.request_counts.completed} / {batch_status.request_counts.total}")

    if batch_status.status in final_statuses:
        break
    if batch_status.status not in waiting_statuses:
        unknown_checks += 1
        if unknown_checks == max_unknown_checks:
            sys.exit(f"Batch status still unknown after {unknown_checks} checks: {batch_status.status}")

    time.sleep(10)  # Wait for 10 seconds before checking again

if batch_status.status != "completed":
    for error in batch_status.errors.data if batch_status.errors else []:
        print(f"Error: {error.message}", file=sys.stderr)
    sys.exit(f"Batch ended with status: {batch_status.status}")

# Retrieve the results (a batch whose every request failed has none)
if batch_status.output_file_id:
    results = client.files.content(batch_status.output_file_id).text

    # Print response to console
    print("\n🔍 AI batch response:")
    print(results)

# Requests that failed are in a file of their own
if batch_status.error_file_id:
    errors = client.files.content(batch_status.error_file_id).text
    if errors.strip():
        print("\nFailed requests:", file=sys.stderr)
        print(errors, file=sys.stderr)
        sys.exit("Batch completed, but some requests failed")
