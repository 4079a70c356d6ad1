# Real-time chat completion with Mistral Nemo Instruct 2407 on kluster.ai
import os
import sys
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

# Create chat completion request
completion = client.chat.completions.create(
    model="mistralai/Mistral-Nemo-Instruct-2407",
    messages=[
        {"role": "user", "content": "What is the ultimate breakfast sandwich?"},
    ],
)

# Extract model name and AI-generated text
model_name = completion.model
text_response = completion.choices[0].message.content

# Print response to console
print(f"\n🔍 AI response (model: {model_name}):")
print(text_response)
