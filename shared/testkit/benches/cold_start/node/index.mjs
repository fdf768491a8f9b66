// The reference a Node.js team would deploy: one DynamoDB client made at init, each
// invocation one GetItem, spoken over the Lambda Runtime API as a custom runtime does.
import { DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";

const api = `http://${process.env.AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime`;
const table = process.env.HERALD_TABLE;
const client = new DynamoDBClient({ endpoint: process.env.HERALD_AWS_ENDPOINT });

for (;;) {
  const next = await fetch(`${api}/invocation/next`);
  const id = next.headers.get("lambda-runtime-aws-request-id");
  await next.json();
  const item = await client.send(
    new GetItemCommand({ TableName: table, Key: { pk: { S: "T#none" }, sk: { S: "none" } } }),
  );
  await fetch(`${api}/invocation/${id}/response`, {
    method: "POST",
    body: JSON.stringify({ found: item.Item !== undefined }),
  });
}
