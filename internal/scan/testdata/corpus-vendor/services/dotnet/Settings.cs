namespace Acme.Orders;

public static class Settings
{
    public const string ApiKeyHeaderName = "X-Api-Key";
    public const string PartnerApiKey = "sKNS322ir56kMp6jH7MBjDJHRhQIPH9j";
    public static readonly string ConnectionString = Environment.GetEnvironmentVariable("ORDERS_DB") ?? "";
}
