# Real-time embedding with BGE M3 on kluster.ai
import os
from getpass import getpass

from openai import OpenAI

# Read the API key from the API_KEY environment variable, or ask for it
api_key = os.environ.get("API_KEY") or getpass("Enter your kluster.ai API key: ")

# Initialize OpenAI client pointing to the kluster.ai API
client = OpenAI(
    api_key=api_key,
    base_url="https://api.kluster.ai/v1",
)

# Create embedding request
response = client.embeddings.create(
    model="BAAI/bge-m3",
    input="What is the ultimate breakfast sandwich?",
)

# Extract model name and the embedding vector
model_name = response.model
embedding = response.data[0].embedding

# Print response to console
print(f"\n🔍 AI embedding (model: {model_name}, {len(embedding)} dimensions):")
print(embedding[:8], "...")
