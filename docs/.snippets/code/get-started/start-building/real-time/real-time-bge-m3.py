# Real-time embedding with BGE M3 on kluster.ai
import os
import sys
from getpass import getpass

from openai import APIStatusError, OpenAI

# Read the API key from the API_KEY environment variable, or ask for it
api_key = os.environ.get("API_KEY") or getpass("Enter your kluster.ai API key: ")

# Initialize OpenAI client pointing to the kluster.ai API
client = OpenAI(
    api_key=api_key,
    base_url="https://api.dev.example.com/v1",
)


# Show an error the API answers with as its message, not as a traceback
def show_api_error(kind, error, traceback):
    if isinstance(error, APIStatusError):
        print(f"Error: {error.status_code} {error.message}", file=sys.stderr)
    else:
        sys.__excepthook__(kind, error, traceback)


sys.excepthook = show_api_error

# Create embedding request
response = client.embeddings.create(
    model="bge-m3",
    input="What is the ultimate breakfast sandwich?",
)

# Extract model name and the embedding vector
model_name = response.model
embedding = response.data[0].embedding

# Print response to console
print(f"\n🔍 AI embedding (model: {model_name}, {len(embedding)} dimensions):")
print(embedding[:8], "...")
