# Batch embeddings with BGE M3 on kluster.ai
import json
import os
import sys
import time
from getpass import getpass

from openai import OpenAI

# Read the API key from the API_KEY environment variable, or ask for it
api_key = os.environ.get("API_KEY") or getpass("Enter your kluster.ai API key: ")

# Initialize OpenAI client pointing to the kluster.ai API
client = OpenAI(
    api_key=api_key,
    base_url="https://api.kluster.ai/v1",
)

# Create requests with the batch input structure
requests = [
    {
        "custom_id": "request-1",
        "method": "POST",
        "url": "/v1/embeddings",
        "body": {
            "model": "BAAI/bge-m3",
            "input": "What is the ultimate breakfast sandwich?"
        }
    },
    {
        "custom_id": "request-2",
        "method": "POST",
        "url": "/v1/embeddings",
        "body": {
            "model": "BAAI/bge-m3",
            "input": "Explain the Pythagorean theorem."
        }
    },
    {
        "custom_id": "request-3",
        "method": "POST",
        "url": "/v1/embeddings",
        "body": {
            "model": "BAAI/bge-m3",
            "input": "Explain the Pythagorean theorem in Spanish."
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
    endpoint="/v1/embeddings",
    completion_window="24h",
)

# Poll the batch status until it ends
while True:
    batch_status = client.batches.retrieve(batch_request.id)
    print(f"Batch status: {batch_status.status}")
    print(f"Completed tasks: {batch_status.request_counts.completed} / {batch_status.request_counts.total}")

    if batch_status.status in ("completed", "failed", "cancelled", "expired"):
        break

    time.sleep(10)  # Wait for 10 seconds before checking again

if batch_status.status != "completed":
    sys.exit(f"Batch ended with status: {batch_status.status}")

# Retrieve the results
results = client.files.content(batch_status.output_file_id).text

# Print response to console
print("\n🔍 AI batch response:")
print(results)
